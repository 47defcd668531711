"""Secret hygiene: where a new key's raw secret and the credential in use must never turn up.

The raw key may exist only between the create answer and the show-once dialog closing (and on
the CLI's stdout, which is where `create` puts it). These tests turn DEBUG logging on for every
logger (root, httpx, httpcore, oz_tui) and Textual's own log file, run the real flows, and then
search the logs, the screens, the toasts, errors, the SQLite files and every file under the data
and config dirs. The system clipboard is a fake (never the real one).
"""

from __future__ import annotations

import gc
import io
import json
import logging
import re
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from textual.app import App
from textual.widgets import Button, Static

import fault_server as fs
from determinism import FakeClock, deterministic_tokens
from fault_matrix import CREDENTIAL_HINT, FAKE_CREDENTIAL
from oz_tui import cli
from oz_tui.core.models import ApiKey, CreatedKey, KeyScope
from oz_tui.backend import local_backend, remote_backend
from oz_tui.tui import clipboard
from oz_tui.tui.app import OzKeysApp
from oz_tui.tui.clipboard import ClearOutcome, ClipboardClearer, ClipboardResult, secret_digest
from oz_tui.tui.screens import ShowKeyScreen
from oz_tui.tui.screens.keys import KeysScreen
from oz_tui.tui.screens.show_key import HINT
from oz_tui.tui.widgets import AuthPanel
from scenarios import settle
from screen_check import notification_messages, notifications, terminal_output, unhandled_error

REPO = Path(__file__).resolve().parents[2]
RAW_KEY = re.compile(r"wk-1\.[0-9a-f]{64}")
HEX64 = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")


class FakeSystemClipboard:
    """Stands in for pyperclip's copy and paste."""

    def __init__(self) -> None:
        self.text = "what the user had copied before"
        self.copies: list[int] = []  # lengths only: a test log must not hold the key either

    def copy(self, text: str) -> None:
        self.copies.append(len(text))
        self.text = text

    def paste(self) -> str:
        return self.text


@pytest.fixture
def system_clipboard(monkeypatch: pytest.MonkeyPatch) -> FakeSystemClipboard:
    fake = FakeSystemClipboard()
    monkeypatch.setattr(clipboard, "find_system_copier", lambda: fake.copy)
    monkeypatch.setattr(clipboard, "find_system_paster", lambda: fake.paste)
    # The fake answers at once; on a loaded machine the thread running it may start late. The
    # copy runs off the event loop, so a generous bound freezes nothing.
    monkeypatch.setattr(clipboard, "SYSTEM_CLIPBOARD_TIMEOUT", 10.0)
    return fake


@pytest.fixture
def debug_everything(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Path]:
    """DEBUG for every logger, captured; Textual's own log goes to the returned file."""
    import textual.constants

    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "oz_tui", "textual", "asyncio"):
        caplog.set_level(logging.DEBUG, logger=name)
    textual_log = tmp_path / "textual.log"
    monkeypatch.setattr(textual.constants, "LOG_FILE", str(textual_log))
    yield textual_log


def forms(raw: str) -> list[str]:
    """The raw key, its secret part, and a telling slice of it."""
    return [raw, raw[5:], raw[5:37], raw[-32:]]


def assert_absent(raw: str, where: str, text: str | bytes) -> None:
    for form in forms(raw):
        needle: str | bytes = form.encode() if isinstance(text, bytes) else form
        assert needle not in text, f"the key turned up in {where}"


def files_under(*dirs: Path) -> list[Path]:
    return [path for d in dirs if d.exists() for path in d.rglob("*") if path.is_file()]


def logged(caplog: pytest.LogCaptureFixture) -> str:
    return caplog.text + "".join(
        f"{record.msg!r}{record.args!r}{record.exc_text or ''}" for record in caplog.records
    )


# -- the panel: create, show once, copy, close ------------------------------------------------------


async def test_panel_flow_leaves_the_key_nowhere(
    tmp_path: Path,
    debug_everything: Path,
    caplog: pytest.LogCaptureFixture,
    system_clipboard: FakeSystemClipboard,
    reliability: Any,
    local_path: str,
) -> None:
    data_dir, config_dir = tmp_path / "data", tmp_path / "config"
    config_dir.mkdir()
    raw = "wk-1." + deterministic_tokens()()
    clock = FakeClock()
    backend = local_backend(
        data_dir, clock=clock, token_factory=deterministic_tokens(), path=local_path
    )
    app = OzKeysApp(backend, clock=clock, cursor_blink=False, clipboard_clear_seconds=1.0)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await pilot.press(*"Deploy bot", "enter")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ShowKeyScreen)
        assert raw in terminal_output(app)  # it is shown once: this is what we look for later
        await pilot.press("c")
        await settle(pilot)  # the system clipboard is copied to in a thread worker
        copied_at = time.monotonic()
        assert system_clipboard.text == raw
        note = str(dialog.query_one("#clear-note", Static).content)
        assert note.startswith("The system clipboard will be cleared in 1 s")
        await pilot.press("enter")  # Done
        await settle(pilot)
        assert isinstance(app.screen, KeysScreen)

        # After close: not on screen, in a toast, a widget, the clipboard mirror, the clearer.
        assert_absent(raw, "the screen", terminal_output(app))
        assert_absent(raw, "a screenshot", app.export_screenshot())
        for notification in notifications(app):
            assert_absent(raw, "a toast", notification.message + notification.title)
        for screen in app.screen_stack:
            for widget in screen.walk_children(with_self=True):
                assert_absent(raw, f"{widget!r}", str(widget.render()))
        assert_absent(raw, "app.clipboard", app.clipboard)
        clearer = app.screen._clipboard_clearer
        assert_absent(raw, "the clearer", repr(vars(clearer)))
        if time.monotonic() - copied_at < 0.9:
            assert clearer.pending == 1 and system_clipboard.text == raw  # not before the delay
        gc.collect()
        assert not [obj for obj in gc.get_objects() if isinstance(obj, CreatedKey)]

        # The system clipboard is cleared once the delay is up (it still held the key).
        deadline = time.monotonic() + 5
        while system_clipboard.text and time.monotonic() < deadline:
            await pilot.pause(0.05)
        assert system_clipboard.text == ""
        assert clearer.outcomes == [ClearOutcome.CLEARED]

        # The clearing worker's toast comes once its thread is back (looked for at once: on a
        # loaded machine, a few pauses can outlast the toast's 5 s).
        def said_cleared() -> bool:
            return any("cleared from the system clipboard" in n.message
                       for n in notifications(app))

        deadline = time.monotonic() + 5
        while not said_cleared() and time.monotonic() < deadline:
            await pilot.pause(0.02)
        assert said_cleared()
        assert unhandled_error(app) is None

    assert_absent(raw, "the logs", logged(caplog))
    if local_path == "graphql":
        assert any(r.name.startswith("httpx") for r in caplog.records), "httpx logged at DEBUG"
    textual_log = debug_everything.read_text(encoding="utf-8")
    assert "SCREEN" in textual_log or "Screen" in textual_log, "Textual's log was written"
    assert_absent(raw, "Textual's log", textual_log)
    db_files = [data_dir / name for name in ("keys.db", "keys.db-wal", "keys.db-shm")]
    assert db_files[0].exists()
    for path in files_under(data_dir, config_dir) + [p for p in db_files if p.exists()]:
        assert_absent(raw, str(path), path.read_bytes())
        assert bytes.fromhex(raw[5:]) not in path.read_bytes()
    reliability.passed("secrets", "panel-flow", "outcome",
                       "not in logs (root, httpx, httpcore, Textual), screens, screenshots, "
                       "toasts, widgets or objects after close")
    reliability.passed("secrets", "clipboard-clear", "outcome",
                       "cleared after the delay (45 s by default, clipboard_clear_seconds); "
                       "the dialog says so; only a SHA-256 is kept meanwhile")


# -- the CLI ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["pretty", "json"])
def test_cli_create_leaves_the_key_only_on_stdout(
    fmt: str, tmp_path: Path, debug_everything: Path, caplog: pytest.LogCaptureFixture,
    reliability: Any,
) -> None:
    data_dir, config_dir = tmp_path / "data", tmp_path / "config"
    config_dir.mkdir()
    out, err = io.StringIO(), io.StringIO()
    env = {"XDG_CONFIG_HOME": str(config_dir), "XDG_DATA_HOME": str(tmp_path / "xdg-data")}
    argv = ["--local", "--data-dir", str(data_dir), "create", "ci", "--output-format", fmt]
    assert cli.run(argv, env=env, stdin=io.StringIO(), stdout=out, stderr=err) == 0
    [raw] = RAW_KEY.findall(out.getvalue())
    if fmt == "pretty":
        assert out.getvalue() == raw + "\n"  # stdout holds the key and nothing else
    else:
        assert json.loads(out.getvalue())["raw_api_key"] == raw
    assert_absent(raw, "stderr", err.getvalue())
    # (In process the CLI reaches the store directly: no HTTP, so nothing from httpx to check.)
    assert_absent(raw, "the logs", logged(caplog))
    files = files_under(data_dir, config_dir, tmp_path / "xdg-data")
    assert (data_dir / "keys.db") in files
    for path in files:
        assert_absent(raw, str(path), path.read_bytes())
    reliability.passed("secrets", "cli-create", "outcome",
                       "on stdout only: not on stderr, in the logs or in any file")
    reliability.passed("secrets", "files", "outcome",
                       "only the key's SHA-256 and last four characters are stored")


# -- committed pictures -------------------------------------------------------------------------------


def test_committed_pictures_hold_only_deterministic_test_keys(reliability: Any) -> None:
    pictures = sorted((REPO / "tests").glob("**/__snapshots__/**/*.svg"))
    pictures += sorted((REPO / "screenshots").glob("*.svg"))
    pictures += sorted((REPO / "screenshots").glob("*.png"))
    assert pictures
    factory = deterministic_tokens()
    test_secrets = {factory() for _ in range(50)}
    seen = 0
    for path in pictures:
        text = path.read_bytes().decode("utf-8", "replace").replace("&#160;", " ")
        for match in HEX64.findall(text):
            assert match in test_secrets, f"{path.name} holds a 64-hex secret no test made"
            seen += 1
        for prefix in re.findall(r"wk-1\.[0-9a-f]*", text):
            assert prefix[5:] in test_secrets, f"{path.name} holds a key-like {prefix[:12]}…"
    assert seen == 0  # every picture draws a new key concealed (show-key-once included)
    reliability.passed("secrets", "committed-pictures", "outcome",
                       "no key: every picture draws a new key concealed")


# -- the credential in use ----------------------------------------------------------------------------


def _echoing_route(request: fs.Request) -> fs.Action:
    """Good answers, except /deny: a 401 whose message quotes the credential back."""
    if request.path.startswith("/deny"):
        return fs.json_answer(
            {"title": "authentication_required",
             "detail": f"The key {FAKE_CREDENTIAL} was revoked."}, 401)
    return fs.good()


@pytest.fixture(scope="module")
def echo_server() -> Iterator[fs.ThreadedFaultServer]:
    server = fs.ThreadedFaultServer(_echoing_route)
    yield server
    server.close()


def test_cli_shows_at_most_the_credential_hint(
    echo_server: fs.ThreadedFaultServer, tmp_path: Path, reliability: Any
) -> None:
    env = {"WARP_API_KEY": FAKE_CREDENTIAL, "XDG_CONFIG_HOME": str(tmp_path)}
    for fmt in ("pretty", "text", "json", "ndjson"):
        out, err = io.StringIO(), io.StringIO()
        argv = ["whoami", "--server-root-url", echo_server.url, "--output-format", fmt]
        assert cli.run(argv, env=env, stdin=io.StringIO(), stdout=out, stderr=err) == 0
        shown = out.getvalue() + err.getvalue()
        if fmt != "text":  # text is Warp's `type:uid` alone
            assert CREDENTIAL_HINT in shown
        assert_absent(FAKE_CREDENTIAL, f"whoami {fmt}", shown)
    out, err = io.StringIO(), io.StringIO()
    argv = ["list", "--server-root-url", f"{echo_server.url}/deny"]
    assert cli.run(argv, env=env, stdin=io.StringIO(), stdout=out, stderr=err) == 3
    assert CREDENTIAL_HINT in err.getvalue()  # the server's echo, masked
    assert_absent(FAKE_CREDENTIAL, "the 401 line", out.getvalue() + err.getvalue())
    reliability.passed("secrets", "credential-cli", "outcome",
                       "at most wk-**abcd (whoami, a 401 that echoes it); absent from every "
                       "fault's line in the CLI table")


async def test_panel_shows_at_most_the_credential_hint(
    echo_server: fs.ThreadedFaultServer, caplog: pytest.LogCaptureFixture, reliability: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = FakeClock()
    for url, expect_auth in ((echo_server.url, False), (f"{echo_server.url}/deny", True)):
        backend = remote_backend(url, FAKE_CREDENTIAL, clock=clock, max_retries=0)
        app = OzKeysApp(backend, clock=clock, cursor_blink=False)
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            await settle(pilot)
            panel = app.screen.query_one(AuthPanel)
            assert panel.shown is expect_auth
            if expect_auth:
                assert CREDENTIAL_HINT in panel.message_plain
            output = terminal_output(app) + app.export_screenshot()
            output += "".join(n.message for n in notifications(app))
            assert_absent(FAKE_CREDENTIAL, "the panel", output)
    assert_absent(FAKE_CREDENTIAL, "the logs", logged(caplog))
    reliability.passed("secrets", "credential-panel", "outcome",
                       "never on screen, in toasts or logs (a 401 that echoes it shows "
                       "wk-**abcd); checked on every screen of the panel fault table too")


# -- the clipboard ------------------------------------------------------------------------------------


async def test_a_changed_clipboard_is_left_alone(
    tmp_path: Path, system_clipboard: FakeSystemClipboard, reliability: Any
) -> None:
    clock = FakeClock()
    backend = local_backend(tmp_path, clock=clock, token_factory=deterministic_tokens())
    app = OzKeysApp(backend, clock=clock, cursor_blink=False, clipboard_clear_seconds=0.5)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("n", "x", "enter")
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        system_clipboard.text = "the user copied something else since"
        await pilot.press("enter")
        await settle(pilot)
        clearer = app.screen._clipboard_clearer
        deadline = time.monotonic() + 5
        while not clearer.outcomes and time.monotonic() < deadline:
            await pilot.pause(0.05)
        assert clearer.outcomes == [ClearOutcome.CHANGED]
        assert system_clipboard.text == "the user copied something else since"
    reliability.passed("secrets", "clipboard-changed", "outcome",
                       "left alone (compared by SHA-256, never logged)")


async def test_quitting_clears_a_pending_clipboard_at_once(
    tmp_path: Path, system_clipboard: FakeSystemClipboard, reliability: Any
) -> None:
    clock = FakeClock()
    backend = local_backend(tmp_path, clock=clock, token_factory=deterministic_tokens())
    app = OzKeysApp(backend, clock=clock, cursor_blink=False)  # the default delay: 45 s
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("n", "x", "enter")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ShowKeyScreen)
        await pilot.press("c")
        await settle(pilot)
        assert "cleared in 45 s" in str(dialog.query_one("#clear-note", Static).content)
        raw = "wk-1." + deterministic_tokens()()
        assert system_clipboard.text == raw
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
    assert system_clipboard.text == ""
    reliability.passed("secrets", "clipboard-exit", "outcome",
                       "cleared as the app quits, if it still holds the key")


async def test_osc52_only_copies_are_not_claimed_to_be_cleared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reliability: Any
) -> None:
    monkeypatch.setattr(clipboard, "find_system_copier", lambda: None)
    assert "can't clear a copy in the terminal's clipboard (OSC 52)" in " ".join(HINT.split())
    clock = FakeClock()
    backend = local_backend(tmp_path, clock=clock, token_factory=deterministic_tokens())
    app = OzKeysApp(backend, clock=clock, cursor_blink=False)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("n", "x", "enter")
        await settle(pilot)
        dialog = app.screen
        await pilot.press("c")
        await settle(pilot)
        note = dialog.query_one("#clear-note", Static)
        assert not note.display and str(note.content) == ""
        toast = notifications(app)[-1].message
        assert "OSC 52" in toast and "cleared" not in toast
        assert app.screen_stack[0]._clipboard_clearer.pending == 0
    reliability.passed("secrets", "osc52", "outcome",
                       "can't be cleared by the app (it can't read the terminal's clipboard): "
                       "the dialog's hint says so and no clearing is promised")


def test_clear_if_unchanged_compares_hashes() -> None:
    fake = FakeSystemClipboard()
    fake.text = "secret"
    assert clipboard.clear_if_unchanged(secret_digest("other"), fake.paste, fake.copy) is (
        ClearOutcome.CHANGED
    )
    assert fake.text == "secret"
    assert clipboard.clear_if_unchanged(secret_digest("secret"), fake.paste, fake.copy) is (
        ClearOutcome.CLEARED
    )
    assert fake.text == ""
    assert clipboard.clear_if_unchanged("x", None, None) in (
        ClearOutcome.NO_CLIPBOARD, ClearOutcome.CHANGED, ClearOutcome.CLEARED
    )


def test_a_failing_clipboard_is_reported_by_type_only(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> str:
        raise RuntimeError("helper printed: wk-1.secret")

    class Dummy:
        def set_timer(self, *args: Any, **kwargs: Any) -> Any:
            raise AssertionError("not used")

    caplog.set_level(logging.DEBUG)
    clearer = ClipboardClearer(Dummy(), 45, paste=broken, copy=lambda text: None)  # type: ignore[arg-type]
    outcome = clearer._clear_blocking(secret_digest("x"))
    assert outcome == "RuntimeError"
    assert "wk-1.secret" not in caplog.text and "RuntimeError" in caplog.text


class _ShowKeyHost(App[None]):
    """A bare app showing one ShowKeyScreen, with a fake system clipboard and a fast clearer.

    It holds no CreatedKey itself (the screen forgets its own on closing): a test must leave no
    secret-carrying object behind for later tests' garbage checks to find."""

    def __init__(self, fake: FakeSystemClipboard) -> None:
        super().__init__()
        self.fake = fake
        self.clearer = ClipboardClearer(self, 0.1, paste=fake.paste, copy=fake.copy)

    def fake_copy(self, text: str) -> ClipboardResult:
        self.fake.copy(text)
        return ClipboardResult(terminal=True, system=True)


async def test_show_key_dialog_with_a_fake_copy_and_a_fast_clearer() -> None:
    """ShowKeyScreen on its own: a system copy schedules the clear, and the dialog says so."""
    fake = FakeSystemClipboard()
    app = _ShowKeyHost(fake)
    screen = ShowKeyScreen(
        CreatedKey(
            api_key=ApiKey(uid="u", name="k", key_suffix="abcd", scope=KeyScope.PERSONAL,
                           created_at=FakeClock()()),
            raw_key="wk-1." + "ab" * 32,
        ),
        copy=app.fake_copy,
        clearer=app.clearer,
    )
    async with app.run_test(size=(100, 32), notifications=True) as pilot:
        await app.push_screen(screen)
        await pilot.press("c")
        await app.workers.wait_for_complete()  # the system copy's thread worker
        await pilot.pause()
        toasts = notification_messages(app)
        assert any("cleared from the system clipboard in 0.1 s" in toast for toast in toasts)
        assert str(screen.query_one("#copy", Button).label) == "Copied"
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        assert fake.text == "" and app.clearer.outcomes == [ClearOutcome.CLEARED]
        await pilot.press("enter")  # Done: the screen forgets the key
        await pilot.pause()
