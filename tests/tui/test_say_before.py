"""Signed in with a key that may not do something, the panel and the CLI say so before trying.

The principal comes from who-am-I (`principalType`) and the key signed in with; what it may do
from the one authorization table (`oz_tui.core.authorization`). A refusal sends no request.
"""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from textual.widgets import Button

from oz_tui.backend import remote_backend
from oz_tui.cli import run
from oz_tui.local import LocalService
from oz_tui.local.store import default_agent_uid

from scenarios import SERVER_ROOT, make_app, operation_of, settle
from dialog_hosts import shown_text

SERVICE_ACCOUNT_REASON = (
    "This key is a service account: it may not create keys. Sign in with a Personal key."
)
MUTATIONS = ("GenerateApiKey", "ExpireApiKey")


class Counting(httpx.AsyncBaseTransport):
    """The local GraphQL service, counting requests per operation."""

    def __init__(self, service: LocalService) -> None:
        self._inner = service.transport()
        self.requests: dict[str, int] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        op = operation_of(request)
        self.requests[op] = self.requests.get(op, 0) + 1
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def _no_sleep(_seconds: float) -> None:
    return None


def _signed_in(clock: Any, token_factory: Any, *, scope: str) -> tuple[Any, Counting, Any]:
    """A remote backend over the demo data, signed in with a fresh key of `scope`."""
    service = LocalService.demo(clock=clock, token_factory=token_factory)
    options = {"agent": {"agent_uid": default_agent_uid("local-team")},
               "team": {"team_uid": "local-team"}, "personal": {}}[scope]
    stored, raw = service.store.create_key(f"signed in {scope}", **options)
    transport = Counting(service)
    backend = remote_backend(SERVER_ROOT, raw, clock=clock, transport=transport,
                             max_retries=0, sleep=_no_sleep)
    backend.service = service  # closed with the backend
    return backend, transport, stored


async def _highlight(pilot: Any, uid: str) -> None:
    """Move the table's highlight to `uid` with the arrow keys, as a user would (bounded: a
    key that can't be reached fails the test instead of hanging it)."""
    table = pilot.app.screen.table
    order = [key.uid for key in table.visible_keys]
    for _ in range(2 * len(order) + 2):
        current = table.highlighted_key
        if current is not None and current.uid == uid:
            return
        here = order.index(current.uid) if current is not None else -1
        await pilot.press("down" if order.index(uid) > here else "up")
    raise AssertionError(f"could not highlight {uid} in {order}")


def _toasts(app: Any) -> list[str]:
    """Each toast's text, its frame and line breaks left out."""
    return [" ".join(shown_text(toast).replace("▌", " ").split())
            for toast in app.screen.query("Toast")]


@pytest.mark.parametrize("scope", ["agent", "team"])
async def test_create_is_disabled_with_the_reason_and_n_sends_nothing(clock, token_factory, scope):
    backend, transport, _ = _signed_in(clock, token_factory, scope=scope)
    store = backend.service.store
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        button = app.screen.query_one("#create", Button)
        assert button.disabled
        assert button.tooltip == SERVICE_ACCOUNT_REASON
        before = len(store.active_keys())
        await pilot.press("n")
        await settle(pilot)
        assert type(app.screen).__name__ == "KeysScreen"
        assert any(SERVICE_ACCOUNT_REASON in toast for toast in _toasts(app)), _toasts(app)
        assert len(store.active_keys()) == before
        assert transport.requests.get("GenerateApiKey", 0) == 0


async def test_a_personal_key_may_create(clock, token_factory):
    backend, _, _ = _signed_in(clock, token_factory, scope="personal")
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        button = app.screen.query_one("#create", Button)
        assert not button.disabled and button.tooltip is None
        await pilot.press("n")
        await settle(pilot)
        assert type(app.screen).__name__ == "CreateKeyScreen"


async def test_delete_of_a_key_it_may_not_expire_is_refused_with_the_reason(clock, token_factory):
    backend, transport, stored = _signed_in(clock, token_factory, scope="agent")
    store = backend.service.store
    # A second key of the same agent: listed to this key (its own principal), not its to expire.
    sibling, _ = store.create_key("sibling", agent_uid=default_agent_uid("local-team"))
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        shown = {key.uid for key in app.screen.table.keys}
        assert shown >= {stored.uid, sibling.uid}
        # Highlight the sibling, then press d: refused at once, no dialog, no request.
        await _highlight(pilot, sibling.uid)
        await pilot.press("d")
        await settle(pilot)
        assert type(app.screen).__name__ == "KeysScreen"
        reason = "This key is a service account: it may expire only itself."
        assert any(reason in toast for toast in _toasts(app))
        assert {key.uid for key in store.active_keys()} >= {stored.uid, sibling.uid}
        assert transport.requests.get("ExpireApiKey", 0) == 0
        # Its own key may be deleted: the confirmation opens.
        await _highlight(pilot, stored.uid)
        await pilot.press("d")
        await settle(pilot)
        assert type(app.screen).__name__ == "ConfirmDeleteScreen"


async def test_marked_delete_with_a_refused_key_sends_nothing(clock, token_factory):
    backend, transport, stored = _signed_in(clock, token_factory, scope="agent")
    store = backend.service.store
    store.create_key("sibling", agent_uid=default_agent_uid("local-team"))
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("space", "down", "space")  # mark both
        await settle(pilot)
        assert len(app.screen.table.marked_keys) >= 2
        await pilot.press("d")
        await settle(pilot)
        assert type(app.screen).__name__ == "KeysScreen"
        assert any("may expire only itself" in toast for toast in _toasts(app))
        assert transport.requests.get("ExpireApiKey", 0) == 0


async def test_rotate_is_refused_for_a_service_account(clock, token_factory):
    backend, transport, _ = _signed_in(clock, token_factory, scope="agent")
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        assert type(app.screen).__name__ == "KeysScreen"
        assert any(SERVICE_ACCOUNT_REASON in toast for toast in _toasts(app))
        assert all(transport.requests.get(op, 0) == 0 for op in MUTATIONS)


async def test_the_local_service_says_an_agent_key_is_a_service_account(clock, token_factory):
    for scope, expected in (("agent", "SERVICE_ACCOUNT"), ("team", "SERVICE_ACCOUNT"),
                            ("personal", "USER")):
        backend, _, _ = _signed_in(clock, token_factory, scope=scope)
        try:
            assert (await backend.client.whoami()).principal_type == expected
        finally:
            await backend.aclose()
