"""The panel's states, set up deterministically: one place for snapshots and screenshots.

`tests/tui/test_snapshots.py` compares each scenario with its stored SVG;
`screenshots/make_screenshots.py` writes each one to `screenshots/<name>.svg`. Both build the app
with `Scenario.build()`, which fixes the clock (FIXED_NOW), the demo data and the secrets
(deterministic tokens), and turns cursor blinking off.

Also used by tests/tui/test_tui_app.py: `StagedTransport` (the demo key service behind a
remote-looking address, with switches for failures) and the backends built on it.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import timedelta, timezone
from typing import Any, Awaitable, Callable

import httpx
from textual.pilot import Pilot

from oz_tui.core.models import Expiration, KeyType
from oz_tui.backend import Backend, LocalPath, local_backend, remote_backend
from oz_tui.local import LocalService
from oz_tui.tui.app import OzKeysApp

from determinism import FakeClock, deterministic_tokens

SERVER_ROOT = "https://app.warp.dev"
#: The "local" zone of every scenario app: exact times in a key's details don't depend on the
#: machine running the tests.
LOCAL_ZONE = timezone(timedelta(hours=1), "CET")
#: A made-up credential for the remote-looking backends (never sent anywhere real).
FAKE_API_KEY = "wk-1." + "0" * 60 + "c0de"

#: What `whoami()` answers for the remote-looking backends.
SIGNED_IN_USER: dict[str, Any] = {
    "data": {
        "user": {
            "__typename": "UserOutput",
            "apiKeyOwnerType": "User",
            "principalType": "USER",
            "user": {
                "profile": {
                    "uid": "user-ada",
                    "displayName": "Ada Lovelace",
                    "email": "ada@example.com",
                },
                "workspaces": [
                    {
                        "uid": "workspace-1",
                        "name": "Analytical Engines",
                        "teams": [{"uid": "local-team", "name": "Platform"}],
                    }
                ],
            },
        }
    }
}

UNAUTHORIZED_PROBLEM = {
    "type": "about:blank",
    "title": "authentication_required",
    "status": 401,
    "detail": "The API key is missing, revoked, expired or malformed.",
}


def operation_of(request: httpx.Request) -> str:
    return request.url.params.get("op", "")


class StagedTransport(httpx.AsyncBaseTransport):
    """The demo key service behind `app.warp.dev`, with switches a test can flip.

    `offline` refuses connections; `failing` maps an operation name to an HTTP status to answer
    it with; `requests` counts requests per operation. `GetUser` answers as a signed-in person.
    """

    def __init__(self, service: LocalService) -> None:
        self._inner = service.transport()
        self.offline = False
        self.unauthorized = False
        self.failing: dict[str, int] = {}
        self.requests: dict[str, int] = {}
        #: Set to an unset Event to hold answers until the test sets it.
        self.gate: asyncio.Event | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        operation = operation_of(request)
        self.requests[operation] = self.requests.get(operation, 0) + 1
        if self.gate is not None:
            await self.gate.wait()
        if self.offline:
            raise httpx.ConnectError("Connection refused", request=request)
        if self.unauthorized:
            return httpx.Response(
                401,
                content=json.dumps(UNAUTHORIZED_PROBLEM).encode(),
                headers={"Content-Type": "application/problem+json"},
            )
        if operation in self.failing:
            return httpx.Response(self.failing[operation], content=b"")
        if operation in ("GetUser", "GetWorkspacesMetadataForUser"):
            # The full user: each of who-am-I's two queries reads its own part.
            return httpx.Response(200, json=SIGNED_IN_USER)
        # The made-up credential means nothing to the local service: don't show it one.
        del request.headers["Authorization"]
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def _no_sleep(_seconds: float) -> None:
    return None


def staged_backend(
    clock: Callable[[], Any], token_factory: Callable[[], str], *, demo: bool = True
) -> tuple[Backend, StagedTransport]:
    """A remote-looking backend (app.warp.dev, signed in as ada@example.com) over the demo data."""
    service = (
        LocalService.demo(clock=clock, token_factory=token_factory)
        if demo
        else LocalService(in_memory=True, clock=clock, token_factory=token_factory)
    )
    transport = StagedTransport(service)
    backend = remote_backend(
        SERVER_ROOT,
        FAKE_API_KEY,
        clock=clock,
        transport=transport,
        max_retries=0,
        sleep=_no_sleep,
    )
    backend.service = service  # closed with the backend
    return backend, transport


def unauthorized_backend(clock: Callable[[], Any]) -> tuple[Backend, list[httpx.Request]]:
    """A remote backend whose server answers every request with 401."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            401,
            content=json.dumps(UNAUTHORIZED_PROBLEM).encode(),
            headers={"Content-Type": "application/problem+json"},
        )

    backend = remote_backend(
        SERVER_ROOT, FAKE_API_KEY, clock=clock, transport=httpx.MockTransport(answer),
        max_retries=0, sleep=_no_sleep,
    )
    return backend, seen


#: How the scenarios' local backends reach the store: directly (what the CLI builds) or through
#: the GraphQL service. The panel's tests run on both (the `local_path` fixture in conftest.py).
LOCAL_PATH: LocalPath = "direct"


def demo_backend(clock: FakeClock, token_factory: Callable[[], str]) -> Backend:
    return local_backend(demo=True, clock=clock, token_factory=token_factory, path=LOCAL_PATH)


def empty_backend(clock: FakeClock, token_factory: Callable[[], str]) -> Backend:
    """The demo backend with every key deleted: the empty state, with a stable status line."""
    backend = demo_backend(clock, token_factory)
    assert backend.store is not None
    for key in backend.store.active_keys():
        backend.store.expire_key(key.uid)
    return backend


def make_app(backend: Backend, clock: FakeClock) -> OzKeysApp:
    """The app as the CLI builds it, with blinking off so screenshots are stable."""
    return OzKeysApp(
        backend,
        clock=clock,
        default_expiration=Expiration.DAYS_90,
        default_key_type=KeyType.PERSONAL,
        theme=None,
        cursor_blink=False,
        local_zone=LOCAL_ZONE,
    )


# -- driving the app ---------------------------------------------------------------------------


async def settle(pilot: Pilot[Any]) -> None:
    """Let every worker (network call) finish and the screen catch up."""
    await pilot.pause()
    await _workers_done(pilot.app)
    await pilot.pause()
    await _workers_done(pilot.app)
    await pilot.pause()


async def _workers_done(app: Any) -> None:
    """Wait for every worker; one the app cancels on purpose (who-am-I, when the list is refused
    as unauthenticated) is done too, not a failure of the wait."""
    from textual.worker import WorkerCancelled

    for worker in list(app.workers):
        try:
            await worker.wait()
        except WorkerCancelled:
            pass


async def type_text(pilot: Pilot[Any], text: str) -> None:
    await pilot.press(*text)


NEW_KEY_NAME = "Deploy bot"


async def open_create_dialog(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("n")
    await settle(pilot)
    await type_text(pilot, NEW_KEY_NAME)
    await pilot.pause()


async def choose_agent(pilot: Pilot[Any]) -> None:
    """The dialog with Agent chosen and the agent list open (an unavailable agent disabled)."""
    await open_create_dialog(pilot)
    await pilot.press("shift+tab")  # from the name to the type
    await pilot.press("right", "right")  # Personal -> Team -> Agent
    await pilot.press("tab", "enter")  # to the agent list, and open it
    await settle(pilot)


async def create_key(pilot: Pilot[Any]) -> None:
    await open_create_dialog(pilot)
    await pilot.press("enter")
    await settle(pilot)


async def confirm_delete(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("down", "down", "down", "down", "down")  # "Nightly agent runs"
    await pilot.press("d")
    await settle(pilot)


async def open_rotate_dialog(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("R")  # the highlighted key: the newest
    await settle(pilot)


async def open_details(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("down", "down", "down", "down", "down")  # "Nightly agent runs"
    await pilot.press("enter")
    await settle(pilot)


async def mark_some(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("down", "space", "down", "down", "space", "down", "space")
    await settle(pilot)


async def qualifier_search(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("slash")
    await type_text(pilot, "scope:team expires:<30d")
    await pilot.pause(0.3)
    await settle(pilot)


async def bad_qualifier(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("slash")
    await type_text(pilot, "idle:>90x scope:team")
    await pilot.pause(0.3)
    await settle(pilot)


# -- the scenarios -------------------------------------------------------------------------


RunBefore = Callable[[Pilot[Any]], Awaitable[None]]


@dataclass(frozen=True)
class Scenario:
    """One state of the panel. `name` is the screenshot's file stem."""

    name: str
    description: str
    size: tuple[int, int]
    build: Callable[[], tuple[OzKeysApp, RunBefore]]


def _demo(run_before: RunBefore) -> Callable[[], tuple[OzKeysApp, RunBefore]]:
    def build() -> tuple[OzKeysApp, RunBefore]:
        clock = FakeClock()
        return make_app(demo_backend(clock, deterministic_tokens()), clock), run_before

    return build


def _empty() -> tuple[OzKeysApp, RunBefore]:
    clock = FakeClock()
    return make_app(empty_backend(clock, deterministic_tokens()), clock), settle


def _auth_error() -> tuple[OzKeysApp, RunBefore]:
    clock = FakeClock()
    backend, _seen = unauthorized_backend(clock)
    return make_app(backend, clock), settle


def _network_error() -> tuple[OzKeysApp, RunBefore]:
    clock = FakeClock()
    backend, transport = staged_backend(clock, deterministic_tokens())

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        transport.offline = True
        await pilot.press("r")
        await settle(pilot)

    return make_app(backend, clock), run_before


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("keys-table", "The key table with demo data", (120, 36), _demo(settle)),
    Scenario("keys-table-80x24", "The key table on an 80x24 terminal", (80, 24), _demo(settle)),
    Scenario("keys-table-200x40", "A wide terminal: the uid and expiry times to the minute",
             (200, 40), _demo(settle)),
    Scenario("key-details", "A key's details: exact times, badges, copy / rotate / delete",
             (120, 36), _demo(open_details)),
    Scenario("marked-keys", "Three keys marked for one delete", (120, 36), _demo(mark_some)),
    Scenario("qualifier-search", "Searching with qualifiers: Team keys expiring within 30 days",
             (120, 36), _demo(qualifier_search)),
    Scenario("search-hint", "A search qualifier that can't be read: a hint, not an error",
             (80, 24), _demo(bad_qualifier)),
    Scenario("empty", "No keys yet", (120, 36), _empty),
    Scenario("create-key", "The New API key dialog", (120, 36), _demo(open_create_dialog)),
    Scenario("create-key-80x24", "The New API key dialog on an 80x24 terminal: compact, no "
             "scrolling", (80, 24), _demo(open_create_dialog)),
    Scenario("create-key-agent", "An Agent key: the team's agents to pick from, an "
             "unavailable one disabled with why", (120, 36), _demo(choose_agent)),
    Scenario("show-key-once", "Save your key: the secret, shown once", (120, 36),
             _demo(create_key)),
    Scenario("confirm-delete", "Deleting asks first", (120, 36), _demo(confirm_delete)),
    Scenario("rotate-key", "Rotating a key: the new key's name, type and expiry; the old key "
             "expired afterwards unless unticked", (120, 36), _demo(open_rotate_dialog)),
    Scenario("auth-error", "The server refused the credential", (120, 36), _auth_error),
    Scenario("network-error", "A refresh failed; the last good list stays", (120, 36),
             _network_error),
)

SCENARIOS_BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}


async def capture_svg(scenario: Scenario) -> str:
    """Run a scenario headless and return its SVG screenshot (as the snapshot tests do)."""
    app, run_before = scenario.build()
    async with app.run_test(size=scenario.size, notifications=True) as pilot:
        await run_before(pilot)
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        return app.export_screenshot(title=app.title)
