"""The panel meets Warp's own ways of failing: a credential Warp cannot place, and an expiry whose
answer was lost after the server had done it."""

from __future__ import annotations

import httpx
import pytest

from determinism import FakeClock, deterministic_tokens
from oz_tui.backend import remote_backend
from oz_tui.local import LocalService
from oz_tui.tui.screens import ConfirmDeleteScreen
from oz_tui.tui.screens.keys import KeysScreen
from oz_tui.tui.widgets import AuthPanel, KeyTable
from scenarios import SIGNED_IN_USER, make_app, settle
from screen_check import notification_messages

SERVER = "https://app.warp.dev"
FAKE_KEY = "wk-1." + "ab" * 32
WIDE = (120, 36)


async def _no_sleep(_seconds: float) -> None:
    return None


@pytest.mark.parametrize(
    "server_says",
    ["User not in context: Not found", "User not in context: ERROR user disabled",
     "user not in context"],
)
async def test_user_not_in_context_says_the_account_is_disabled(server_says: str) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": None, "errors": [{"message": server_says}]})

    clock = FakeClock()
    backend = remote_backend(
        SERVER, FAKE_KEY, clock=clock, transport=httpx.MockTransport(answer), sleep=_no_sleep
    )
    app = make_app(backend, clock)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        panel = app.screen.query_one(AuthPanel)
        assert panel.shown
        assert "account this API key belongs to is disabled or deleted" in panel.message_plain
        assert "new API key from the same account would be refused" in panel.fix_plain
        assert not app.screen.query_one(KeyTable).display


class LostExpiryTransport(httpx.AsyncBaseTransport):
    """The demo service behind app.warp.dev; the first expiry is done, then its answer lost."""

    def __init__(self, service: LocalService) -> None:
        self._inner = service.transport()
        self.expiries = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        operation = request.url.params.get("op", "")
        if operation in ("GetUser", "GetWorkspacesMetadataForUser"):
            return httpx.Response(200, json=SIGNED_IN_USER)
        del request.headers["Authorization"]  # the local service acts for its owner
        response = await self._inner.handle_async_request(request)
        if operation == "ExpireApiKey":
            self.expiries += 1
            if self.expiries == 1:
                await response.aread()
                raise httpx.RemoteProtocolError("Server disconnected", request=request)
        return response


async def test_an_expiry_whose_answer_was_lost_is_reported_as_deleted() -> None:
    clock = FakeClock()
    service = LocalService.demo(clock=clock, token_factory=deterministic_tokens())
    transport = LostExpiryTransport(service)
    backend = remote_backend(SERVER, FAKE_KEY, clock=clock, transport=transport, sleep=_no_sleep)
    backend.service = service
    app = make_app(backend, clock)
    notes: list[str] = []
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await settle(pilot)
        table = app.screen.query_one(KeyTable)
        target = table.highlighted_key
        assert target is not None
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDeleteScreen)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, KeysScreen)
        notes = notification_messages(app)
        assert target.uid not in [key.uid for key in table.keys]
        assert target.uid not in [key.uid for key in service.store.active_keys()]
    assert transport.expiries == 2  # the retry found the key gone
    assert f"Deleted “{target.name}”" in notes  # the toast names the key
    assert not any("not found" in note.lower() for note in notes)
