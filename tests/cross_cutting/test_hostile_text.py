"""Hostile text: key names, account names and server messages that try to steer the terminal,
run actions, hide or reorder text, or break the layout.

* The sanitiser and the client's parsing, as properties (hypothesis).
* The panel: one session shows every hostile input in the table, the dialogs, the toasts, the
  status line and the banner, and checks what the app would write to the terminal
  (tests/support/screen_check.py) after each step.
* Every CLI output format, in process against a loopback server serving the hostile answers.
* End to end: the real panel on a pseudo-terminal, and the bytes it writes.
"""

from __future__ import annotations

import asyncio
import fcntl
import io
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual.widgets import Input, Static

import fault_server as fs
from determinism import FIXED_NOW, FakeClock
from fault_matrix import FAKE_CREDENTIAL
from oz_tui import cli
from oz_tui.core.errors import AuthenticationError, UserFacingError
from oz_tui.core.refusals import MAX_USER_MESSAGE
from oz_tui.api.client import OzClient
from oz_tui.core.models import ApiKey, CreatedKey, KeyScope
from oz_tui.backend import remote_backend
from oz_tui.cli.output import TEXT_HEADER, ExpireResult, Output
from oz_tui.core.sanitize import MAX_COMBINING, safe_text, visible
from oz_tui.tui.screens import ConfirmDeleteScreen, CreateKeyScreen, ShowKeyScreen
from oz_tui.tui.screens.key_details import KeyDetailsScreen
from oz_tui.tui.screens.keys import DOCS_URL, KeysScreen
from oz_tui.tui.screens.show_key import CloseUnsavedKeyScreen
from oz_tui.tui.widgets import ErrorBanner, KeyTable, StatusLine
from reliability import HOSTILE_INPUTS, HOSTILE_SURFACES
from scenarios import make_app, settle
from screen_check import assert_inert, notifications, screen_lines, terminal_output, unhandled_error

REPO = Path(__file__).resolve().parents[2]

HOSTILE: dict[str, str] = {
    "markup": "[bold]Bold[/] [/] [link=https://evil.example/]click[/link]",
    "click": "[@click=app.quit]Quit me[/]",
    "csi": "\x1b[31mred\x1b[0m\x1b[2J\x1b[Hcls",
    "osc8": "\x1b]8;;https://evil.example/\x1b\\link\x1b]8;;\x1b\\",
    "osc52": "\x1b]52;c;ZXZpbA==\x07copied",
    "c0": "nul\x00bel\x07bs\x08cr\rlf\ntab\tend",
    "c1": "csi\x9b31mosc\x9d52;c;x\x9cnel\x85",
    "bidi": "invoice\u202egpj.exe\u202c\u2066iso\u2069",
    "zero-width": "zero\u200bwidth\u200c\u200d\ufeff\u2060\u00ad\u3164x",
    "combining": "Z" + "\u0336\u0337\u0338\u20dd" * 25 + "algo",
    "wide": "鍵の名前 🔑🚀 👩‍💻 ｗｉｄｅ",
    "long": ("A very long name " * 600)[:10_000],
}
assert list(HOSTILE) == [key for key, _ in HOSTILE_INPUTS]
assert len(HOSTILE["long"]) == 10_000

#: Never in what the CLI prints (json escapes them; text allows its tabs).
_CLI_FORBIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f"
    "\ufeff]"
)


def uid_of(name: str) -> str:
    return f"hostile-{name}"


def wire_key(key: str, index: int, *, name: str | None = None) -> dict[str, Any]:
    return {
        "uid": uid_of(key),
        "name": HOSTILE[key] if name is None else name,
        "keySuffix": f"{index:04x}",
        "ownerType": "User",
        "agentInfo": None,
        "createdAt": (FIXED_NOW - timedelta(minutes=index + 1)).isoformat(),
        "lastUsedAt": None,
        "expiresAt": None,
    }


PLAIN_KEY = {**wire_key("plain", 99, name="Plain key"), "uid": "plain"}


#: who-am-I's two queries; `user_answer` fits both (each reads its own part).
WHOAMI_OPS = ("GetUser", "GetWorkspacesMetadataForUser")


def user_answer(label: str) -> dict[str, Any]:
    return {"data": {"user": {
        "__typename": "UserOutput", "apiKeyOwnerType": "User", "principalType": "USER",
        "user": {
            "profile": {"uid": "user-1", "displayName": label, "email": label},
            "workspaces": [{"uid": "ws", "name": label, "teams": [{"uid": "t", "name": label}]}],
        },
    }}}


def user_facing(root: str, message: str) -> dict[str, Any]:
    return {"data": {root: {"__typename": "UserFacingError", "error": {"message": message}}}}


def created_answer(key: str) -> dict[str, Any]:
    raw = "wk-1." + "c0ffee" * 10 + "0000"
    return {"data": {"generateApiKey": {
        "__typename": "GenerateApiKeyOutput", "rawApiKey": raw,
        "apiKey": {**wire_key(key, 0), "uid": f"new-{key}", "createdAt": FIXED_NOW.isoformat()},
    }}}


def keys_answer(*keys: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"apiKeys": {"__typename": "APIKeyPropertiesOutput", "apiKeys": list(keys)}}}


# -- the sanitiser (hypothesis) ------------------------------------------------------------------


def forbidden(char: str) -> bool:
    code = ord(char)
    return (
        code < 0x20
        or 0x7F <= code <= 0x9F
        or unicodedata.category(char) in ("Cf", "Cs", "Co", "Cn", "Zl", "Zp")
    )


def mark_runs(text: str) -> int:
    longest = run = 0
    for char in text:
        run = run + 1 if unicodedata.category(char).startswith("M") else 0
        longest = max(longest, run)
    return longest


#: Everything hypothesis can draw, weighted towards the characters that matter here.
nasty_text = st.text(
    st.one_of(
        st.characters(),
        st.characters(categories=["Cc", "Cf", "Mn", "Me", "Mc", "Zl", "Zp", "Co", "Cs"]),
        st.sampled_from(list("\x1b\x9b\x9d\x07\u202e\u2066\u200b\ufeff\u034f\u3164[]@=")),
    ),
    max_size=60,
)
SANITISER = settings(max_examples=400, deadline=None)


@SANITISER
@given(text=nasty_text)
def test_sanitised_text_has_no_control_format_or_invisible_character(text: str) -> None:
    out = safe_text(text)
    assert not [c for c in out if forbidden(c)]
    assert mark_runs(out) <= MAX_COMBINING
    assert len(out) <= 10 * len(text)


@SANITISER
@given(text=nasty_text)
def test_sanitising_twice_changes_nothing(text: str) -> None:
    once = safe_text(text)
    assert safe_text(once) == once
    cut = safe_text(text, max_length=20)
    assert len(cut) <= 20 and safe_text(cut, max_length=20) == cut


@SANITISER
@given(text=st.text(st.characters(categories=["L", "N", "P", "S", "Zs"],
                                   exclude_characters="\u3164\u115f\u1160\uffa0")))
def test_printable_text_is_unchanged(text: str) -> None:
    assert safe_text(text) == text
    assert visible(text) == text


@SANITISER
@given(text=nasty_text)
def test_the_input_rendering_maps_one_character_to_one(text: str) -> None:
    shown = visible(text)
    assert len(shown) == len(text)  # so the cursor of an Input stays where it belongs
    assert not [c for c in shown if forbidden(c)]
    assert mark_runs(shown) <= MAX_COMBINING


def test_the_sanitiser_examples() -> None:
    assert safe_text("\x1b[31mred") == "␛[31mred"
    assert safe_text("a\u202eb") == "a\\u202eb"
    assert safe_text("csi\x9b") == "csi\\x9b"
    assert safe_text("Z" + "\u0301" * 10) == "Z" + "\u0301" * MAX_COMBINING
    assert safe_text("a" + "\u20dd" * 10) == "a" + "\u20dd" * MAX_COMBINING  # class-0 marks too
    assert safe_text("\u3164") == "\\u3164"  # the Hangul filler looks like nothing at all
    assert safe_text("e\u0301 ❤️ 1️⃣ Tiếng Việt हिन्दी") == "e\u0301 ❤️ 1️⃣ Tiếng Việt हिन्दी"


# -- the client's parsing (hypothesis): any string arrives untouched, any message bounded ---------


class _Harness:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.answer: dict[str, Any] = {}
        transport = httpx.MockTransport(lambda request: httpx.Response(200, json=self.answer))
        self.client = OzClient("https://oz.example.test", None, transport=transport, max_retries=0)

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        self.run(self.client.aclose())
        self.loop.close()


@pytest.fixture(scope="module")
def harness() -> Iterator[_Harness]:
    h = _Harness()
    yield h
    h.close()


PARSING = settings(max_examples=200, deadline=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture])


@PARSING
@given(name=st.text(), suffix=st.from_regex(r"[!-~]{1,16}", fullmatch=True), label=st.text())
def test_any_string_field_arrives_exactly_as_sent(
    harness: _Harness, name: str, suffix: str, label: str
) -> None:
    # Any suffix in its format (core/formats; one outside it is refused: test_server_formats).
    harness.answer = keys_answer({**wire_key("markup", 0, name=name), "keySuffix": suffix})
    [key] = harness.run(harness.client.list_keys())
    assert key.name == name and key.key_suffix == suffix  # the client neither cleans nor breaks
    harness.answer = user_answer(label)
    account = harness.run(harness.client.whoami())
    assert account.email == label and account.teams[0].name == label


@PARSING
@given(message=st.text(max_size=3000))
def test_any_server_message_is_kept_and_bounded(harness: _Harness, message: str) -> None:
    harness.answer = user_facing("apiKeys", message)
    with pytest.raises((UserFacingError, AuthenticationError)) as caught:
        harness.run(harness.client.list_keys())
    text = caught.value.message
    assert len(text) <= MAX_USER_MESSAGE + 100
    if message.strip() and len(message) <= MAX_USER_MESSAGE:
        assert text == message


# -- the panel -----------------------------------------------------------------------------------


class HostileServer:
    """Mock answers: every hostile key listed; the rest follows `current`."""

    def __init__(self) -> None:
        self.current = "markup"
        self.fail_list = False
        self.create_fails = True

    def handler(self, request: httpx.Request) -> httpx.Response:
        op = request.url.params.get("op", "")
        name = HOSTILE[self.current]
        if op == "ApiKeys":
            if self.fail_list:
                return httpx.Response(200, json={"data": None, "errors": [{"message": name}]})
            keys = [wire_key(key, index) for index, key in enumerate(HOSTILE)]
            return httpx.Response(200, json=keys_answer(*keys, PLAIN_KEY))
        if op in WHOAMI_OPS:
            return httpx.Response(200, json=user_answer(name))
        if op == "ExpireApiKey":
            return httpx.Response(200, json=user_facing("expireApiKey", f"Refused: {name}"))
        if self.create_fails:
            return httpx.Response(200, json=user_facing("generateApiKey", f"Refused: {name}"))
        return httpx.Response(200, json=created_answer(self.current))


def shown_plain(widget: Static) -> str:
    return str(widget.content)


def is_cut_from(shown: str, full: str) -> bool:
    return shown == full or (shown.endswith("…") and full.startswith(shown[:-1]))


def check_screen(app: Any) -> str:
    output = terminal_output(app)
    assert_inert(output, allowed_links={DOCS_URL})
    assert FAKE_CREDENTIAL not in output
    return output


def assert_rows_one_line_each(app: Any, table: KeyTable) -> None:
    lines = screen_lines(app)
    rows = []
    for key in table.visible_keys:
        found = [y for y, line in enumerate(lines) if key.masked in line]
        assert len(found) == 1, (key.uid, found)
        cells = table.displayed_cells(key.uid)
        assert cells is not None and cells[0][:4] in lines[found[0]]  # name and key on one line
        rows.append(found[0])
    assert rows == list(range(rows[0], rows[0] + len(rows))), rows  # consecutive: one line each


def assert_on_screen(app: Any, selector: str) -> None:
    """The widget is drawn where a click would reach it: the dialog's layout held."""
    widget = app.screen.query_one(selector)
    region = widget.region
    assert region.width > 0 and region.height > 0, selector
    at, _ = app.screen.get_widget_at(region.x + region.width // 2, region.y + region.height // 2)
    assert at is widget, (selector, at)


#: The inputs that carry markup actions or links: their text is clicked wherever it shows.
CLICKED = ("click", "markup")


async def done(pilot: Any) -> None:
    """The request in flight answered and its outcome drawn (a lighter `settle`)."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def click_everything(pilot: Any, widget: Any, *, y: int = 0, width: int = 0) -> None:
    """Click across a line of the widget: no markup action may fire."""
    width = width or widget.outer_size.width
    for x in sorted({min(2, width - 1), width // 2}):  # on the text's start and middle
        await pilot.click(widget, offset=(max(x, 0), y))
    await pilot.pause()
    assert pilot.app.is_running


@pytest.mark.parametrize("key", list(HOSTILE))  # one input a test: they run side by side
async def test_the_panel_shows_every_hostile_input_literally(
    key: str, reliability: Any
) -> None:
    server = HostileServer()
    clock = FakeClock()
    backend = remote_backend(
        "https://oz.example.test", FAKE_CREDENTIAL, clock=clock,
        transport=httpx.MockTransport(server.handler), max_retries=0,
    )
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, KeysScreen)
        table = screen.query_one(KeyTable)
        status = screen.query_one(StatusLine)
        banner = screen.query_one(ErrorBanner)
        assert len(table.visible_keys) == len(HOSTILE) + 1
        check_screen(app)
        assert_rows_one_line_each(app, table)
        drawn = "\n".join(screen_lines(app))
        assert "[@click=app.quit]Quit me[/]" in drawn and "[bold]Bold[/]" in drawn
        assert "␛[31mred␛[0m" in drawn

        name = HOSTILE[key]
        server.current = key
        clean = safe_text(name)

        # The table: the name as text, sanitised, cut to the column. A click on it opens
        # the key's details (the name whole there, as text) and nothing else.
        cells = table.displayed_cells(uid_of(key))
        assert cells is not None and is_cut_from(cells[0], clean), (key, cells[0])
        assert len(cells[0]) <= 33
        table.filter(name)
        await pilot.pause()
        if key in CLICKED:
            for x in sorted({2, len(cells[0]) // 2 + 1}):  # the name's start and middle
                await pilot.click(table, offset=(x, 1))
                await done(pilot)
                assert isinstance(app.screen, KeyDetailsScreen) and app.is_running
                assert clean[:40] in "\n".join(screen_lines(app))
                check_screen(app)
                await pilot.press("escape")
                await pilot.pause()
        assert isinstance(app.screen, KeysScreen)
        reliability.passed("hostile", key, "table", "literal, one line, inert")

        # The status line: the account's name from who-am-I.
        screen.load_account()
        await done(pilot)
        assert clean[:200] in status.source_plain
        check_screen(app)
        if key in CLICKED:
            await click_everything(pilot, status)

        # Delete: the confirmation shows the name; the refusal's toast shows the message.
        assert table.highlighted_key is not None and table.highlighted_key.name == name
        await pilot.press("d")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmDeleteScreen)
        question = dialog.query_one("#question", Static)
        assert_on_screen(app, "#delete")
        assert is_cut_from(shown_plain(question)[len("Delete API key “"):].split("” (")[0],
                           clean)
        check_screen(app)
        if key in CLICKED:
            await click_everything(pilot, question)
        assert app.screen is dialog
        await pilot.press("y")
        await done(pilot)
        message = notifications(app)[-1].message
        assert message.startswith("Couldn't delete “") and "Refused: " in message
        assert safe_text(f"Refused: {name}")[:40] in message
        check_screen(app)
        toasts = list(app.screen.query("Toast"))
        assert toasts
        if key in CLICKED:
            await click_everything(pilot, toasts[-1])
        app.clear_notifications()  # a dozen stacked toasts only slow the test down
        reliability.passed("hostile", key, "toasts", "literal, inert")

        # Create: the name box draws a pasted name inertly; the refusal shows literally;
        # then the new key's name in the show-once dialog.
        await pilot.press("n")
        await pilot.pause()
        create = app.screen
        assert isinstance(create, CreateKeyScreen)
        name_box = create.query_one("#name", Input)
        name_box.value = name  # as pasted
        await pilot.pause()
        check_screen(app)
        name_box.value = "ok"
        await pilot.press("enter")
        await done(pilot)
        failure = create.query_one("#failure", Static)
        assert_on_screen(app, "#create")
        assert is_cut_from(shown_plain(failure), safe_text(f"Refused: {name}"))
        check_screen(app)
        if key in CLICKED:
            await click_everything(pilot, failure)
        server.create_fails = False
        await pilot.press("enter")
        await done(pilot)
        shown = app.screen
        assert isinstance(shown, ShowKeyScreen)
        key_name = shown.query_one("#key-name", Static)
        assert_on_screen(app, "#done")
        assert_on_screen(app, "#secret")
        assert shown_plain(key_name).startswith("Name: " + clean[:100])
        check_screen(app)
        if key in CLICKED:
            await click_everything(pilot, key_name)
        assert app.screen is shown
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, CloseUnsavedKeyScreen)
        await pilot.click("#discard")
        await done(pilot)
        server.create_fails = True
        assert isinstance(app.screen, KeysScreen)
        reliability.passed("hostile", key, "dialogs", "literal, inert, layout kept")

        # A failed refresh: the banner quotes the server's message literally.
        server.fail_list = True
        await pilot.press("r")
        await done(pilot)
        assert banner.shown and safe_text(name)[:100] in banner.message_plain
        check_screen(app)
        if key in CLICKED:
            await click_everything(pilot, banner)
        server.fail_list = False
        table.filter("")
        reliability.passed("hostile", key, "status", "literal, cut with …, inert")

        # A good refresh: every row back, one line each.
        await pilot.press("r")
        await settle(pilot)
        assert not banner.shown
        assert len(table.visible_keys) == len(HOSTILE) + 1
        assert_rows_one_line_each(app, table)
        check_screen(app)
        assert app.is_running and unhandled_error(app) is None


# -- the CLI -------------------------------------------------------------------------------------


def _cli_route(request: fs.Request) -> fs.Action:
    """/h/<input>/graphql/v2: that input everywhere; /herr/<input>: the list is refused."""
    parts = request.path.split("/")
    mode, key = parts[1], parts[2]
    op = request.op
    if mode == "hall":  # every hostile name at once
        if op == "ApiKeys":
            keys = [wire_key(k, index) for index, k in enumerate(HOSTILE)]
            return fs.json_answer(keys_answer(*keys, PLAIN_KEY))
        return fs.json_answer(user_answer(HOSTILE["click"]))
    name = HOSTILE[key]
    if mode == "herr":
        return fs.json_answer(user_facing("apiKeys", name))
    if op == "ApiKeys":
        return fs.json_answer(keys_answer(wire_key(key, 0), PLAIN_KEY))
    if op in WHOAMI_OPS:
        return fs.json_answer(user_answer(name))
    if op == "GenerateApiKey":
        return fs.json_answer(created_answer(key))
    return fs.json_answer({"data": {"expireApiKey": {
        "__typename": "ExpireApiKeyOutput", "success": True}}})


@pytest.fixture(scope="module")
def hostile_server() -> Iterator[fs.ThreadedFaultServer]:
    server = fs.ThreadedFaultServer(_cli_route)
    yield server
    server.close()


def run_cli(url: str, *args: str, tmp: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = {"WARP_API_KEY": FAKE_CREDENTIAL, "XDG_CONFIG_HOME": str(tmp), "XDG_DATA_HOME": str(tmp)}
    code = cli.run([*args, "--server-root-url", url], env=env, stdin=io.StringIO(),
                   stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def assert_terminal_safe(text: str, *, tabs: bool = False) -> None:
    bad = _CLI_FORBIDDEN.search(text if not tabs else text.replace("\t", " "))
    assert bad is None, repr(text[max(0, bad.start() - 30): bad.end() + 30])
    if not tabs:
        assert "\t" not in text


@pytest.mark.parametrize("key", list(HOSTILE))
def test_every_cli_format_shows_hostile_text_safely(
    key: str, hostile_server: fs.ThreadedFaultServer, tmp_path: Path, reliability: Any
) -> None:
    name = HOSTILE[key]
    clean = safe_text(name)
    url = f"{hostile_server.url}/h/{key}"
    uid = uid_of(key)
    commands = {
        "list": ["list"],
        "whoami": ["whoami"],
        "create": ["create", "new key"],
        "expire": ["expire", uid, "--force"],
    }
    for fmt in ("pretty", "text", "json", "ndjson"):
        outputs = {}
        for command, args in commands.items():
            code, out, err = run_cli(url, *args, "--output-format", fmt, tmp=tmp_path)
            assert code == 0, err
            assert FAKE_CREDENTIAL not in out + err
            outputs[command] = (out, err)
        list_out = outputs["list"][0]
        if fmt in ("pretty", "text"):
            for out, err in outputs.values():
                assert_terminal_safe(out, tabs=fmt == "text")
                assert_terminal_safe(err)
            lines = list_out.splitlines()
            if fmt == "pretty":
                assert len(lines) == 3  # header and one line per key
                assert safe_text(name, max_length=40) in lines[1] + lines[2]
                assert clean[:60] in outputs["whoami"][0]
                assert clean[:60] in outputs["create"][1]  # the note (the key is on stdout)
                assert clean[:60] in outputs["expire"][0]
            else:
                header, *rows = [line.split("\t") for line in lines]
                assert header == list(TEXT_HEADER)
                assert [len(row) for row in rows] == [7, 7]
                assert clean in {row[1] for row in rows}  # whole, on one line
                # Warp's `type:uid`: the hostile e-mail is not part of it.
                assert re.fullmatch(r"user:[^\s]+\n", outputs["whoami"][0])
        else:
            for out, _err in outputs.values():
                assert out.isascii()  # control, bidi and wide characters arrive escaped
            if fmt == "json":
                docs = json.loads(list_out)
            else:
                docs = [json.loads(line) for line in list_out.splitlines()]
            assert name in {doc["name"] for doc in docs}  # and round-trip exactly
            whoami = json.loads(outputs["whoami"][0])
            assert whoami["email"] == name
            created = json.loads(outputs["create"][0])
            assert created["api_key"]["name"] == name
        reliability.passed("hostile", key, fmt,
                           "escaped, round-trips" if fmt in ("json", "ndjson")
                           else "sanitised, one line per record")

    code, out, err = run_cli(f"{hostile_server.url}/herr/{key}", "list", tmp=tmp_path)
    assert code == 1 and out == ""
    assert len(err.splitlines()) == 1
    assert_terminal_safe(err)
    assert err.startswith("oz-keys: ") and clean[:60] in err
    reliability.passed("hostile", key, "errors", "one sanitised line")


@settings(max_examples=150, deadline=None)
@given(names=st.lists(nasty_text, min_size=1, max_size=4), uid=nasty_text, suffix=nasty_text)
def test_cli_output_is_terminal_safe_for_any_name(names: list[str], uid: str, suffix: str) -> None:
    now = datetime(2026, 11, 26, tzinfo=timezone.utc)
    keys = [
        ApiKey(uid=f"{uid}{i}", name=name, key_suffix=suffix, scope=KeyScope.PERSONAL,
               created_at=now)
        for i, name in enumerate(names)
    ]
    for fmt in ("pretty", "text", "json", "ndjson"):
        out, err = io.StringIO(), io.StringIO()
        output = Output(fmt, out, err)
        output.keys(keys, now)
        output.expired([ExpireResult(keys[0], expired=True)], several=False)
        output.expired(
            [ExpireResult(key, expired=False, error=UserFacingError(name)) for key, name in
             zip(keys, names)], several=True)
        output.created(CreatedKey(api_key=keys[0], raw_key="wk-1." + "0" * 64))
        if fmt in ("json", "ndjson"):
            assert out.getvalue().isascii()
            assert_terminal_safe(err.getvalue())  # a failed key's line is for people
            out, err = io.StringIO(), io.StringIO()
            Output(fmt, out, err).keys(keys, now)
        text = out.getvalue() + err.getvalue()
        if fmt in ("pretty", "text"):
            assert_terminal_safe(text, tabs=fmt == "text")
            out, err = io.StringIO(), io.StringIO()
            Output(fmt, out, err).keys(keys, now)
            text = out.getvalue() + err.getvalue()
        if fmt in ("json", "ndjson"):
            assert text.isascii()
            docs = json.loads(text) if fmt == "json" else [json.loads(l) for l in text.splitlines()]
            assert [doc["name"] for doc in docs] == names
        else:
            assert_terminal_safe(text, tabs=fmt == "text")
            expected = len(keys) + 1  # a header, then one line per key
            assert len(text.splitlines()) == expected


def test_the_matrix_covers_every_surface() -> None:
    surfaces = {key for key, _ in HOSTILE_SURFACES}
    assert surfaces == {"table", "dialogs", "toasts", "status", "pretty", "text", "json",
                        "ndjson", "errors"}


# -- end to end: the bytes the real panel writes to a terminal ------------------------------------


def test_the_real_panel_on_a_terminal_writes_no_hostile_sequence(
    hostile_server: fs.ThreadedFaultServer, tmp_path: Path
) -> None:
    """`oz-keys` on a pseudo-terminal, listing every hostile name at once."""
    url = f"{hostile_server.url}/hall/all"
    master, slave = pty.openpty()
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 180, 0, 0))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WARP_", "OZ_KEYS_"))}
    env.update(
        TERM="xterm-256color", WARP_API_KEY=FAKE_CREDENTIAL, HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path), COLORTERM="truecolor",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "oz_tui", "--server-root-url", url],
        stdin=slave, stdout=slave, stderr=slave, env=env, cwd=REPO, close_fds=True,
        start_new_session=True,
    )
    os.close(slave)
    output = b""
    try:
        deadline = time.monotonic() + 30
        while b"13 keys" not in output and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    output += os.read(master, 65536)
                except OSError:
                    break
        assert b"13 keys" in output, output[-2000:]
        os.write(master, b"\x11")  # ctrl+q
        end = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < end:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    output += os.read(master, 65536)
                except OSError:
                    break
        assert proc.wait(timeout=10) == 0
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    text = output.decode("utf-8", "replace")
    for payload in ("\x1b]52;c;ZXZpbA", "\x1b[31mred", "\x1b[2J\x1b[Hcls",
                    "\x1b]8;;https://evil.example/", "\u202e", "\u2066", "\u200b", "\ufeff"):
        assert payload not in text, payload
    assert not re.search("[\x80-\x9f]", text)  # no C1 control as a character
    assert "evil.example" not in "".join(re.findall(r"\x1b\]8;[^;]*;([^\x1b\x07]*)", text))
    assert "␛]52;c;ZXZpbA==␇copied" in text  # shown, as text
    assert FAKE_CREDENTIAL not in text and FAKE_CREDENTIAL[5:] not in text
