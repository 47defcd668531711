"""A settings file others could change is refused, as ssh refuses such a ~/.ssh/config.

config.toml's server_root_url receives WARP_API_KEY, so a config (or the panel's state file) that
another user can write, or can swap for another file, is one line and exit 2, before any
connection. The rule is oz_tui/file_safety.py's.
"""

from __future__ import annotations

import os
import pty
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from oz_tui.config import Flags, SettingsError, load_settings
from oz_tui.state import PanelState

KEY = "wk-1." + "ab" * 32
OTHER_UID = 54321
TIMEOUT = 60


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    # The default paths (platformdirs) come from this process's environment.
    for name, value in env_for(home).items():
        if name.startswith("XDG_") or name == "HOME":
            monkeypatch.setenv(name, value)
    return home


def env_for(home: Path, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("WARP_", "XDG_", "OZ_"))}
    base.update(
        HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"), XDG_STATE_HOME=str(home / ".local/state"),
    )
    base.update(extra)
    return base


def config_in(home: Path, text: str = 'default_key_type = "team"\n', *, mode: int = 0o600,
              dir_mode: int = 0o700) -> Path:
    directory = home / ".config" / "oz-keys"
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(home / ".config", 0o700)
    os.chmod(directory, dir_mode)
    path = directory / "config.toml"
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)
    return path


def refusal(env: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(Flags(), env)
    assert caught.value.exit_code == 2
    message = str(caught.value)
    assert "\n" not in message
    return message


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "oz_tui", *args], capture_output=True, text=True,
                          env=env, timeout=TIMEOUT, stdin=subprocess.DEVNULL)


def assert_one_line_exit_2(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("oz-keys: "), result.stderr
    for word in words:
        assert word in result.stderr, (word, result.stderr)


def chown_or_skip(path: Path, uid: int) -> None:
    try:
        os.chown(path, uid, -1, follow_symlinks=False)
    except PermissionError:
        pytest.skip("giving a file to another user needs root (os.chown refused)")


# -- refused -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o666, 0o620, 0o602, 0o622])
def test_a_config_others_can_write_is_refused(home: Path, mode: int) -> None:
    path = config_in(home, mode=mode)
    message = refusal(env_for(home))
    assert str(path) in message
    assert f"mode {mode:04o}" in message and f"chmod go-w {path}" in message
    # The CLI: one line, exit 2, for a subcommand (the panel checks before anything else too).
    assert_one_line_exit_2(cli(env_for(home), "list", "--local"), str(path), "chmod go-w")


@pytest.mark.parametrize("dir_mode", [0o770, 0o775, 0o757, 0o1777])
def test_a_config_in_a_directory_others_can_write_is_refused(home: Path, dir_mode: int) -> None:
    path = config_in(home, mode=0o600, dir_mode=dir_mode)
    message = refusal(env_for(home))
    assert str(path) in message and f"chmod go-w {path.parent}" in message
    assert_one_line_exit_2(cli(env_for(home), "list", "--local"), f"the directory {path.parent}")


def test_a_config_in_a_directory_others_can_write_further_up_is_refused(home: Path) -> None:
    config_in(home)
    os.chmod(home / ".config", 0o777)
    assert f"chmod go-w {home / '.config'}" in refusal(env_for(home))
    # Home itself is checked, as ssh does.
    os.chmod(home / ".config", 0o700)
    os.chmod(home, 0o775)
    assert f"chmod go-w {home}" in refusal(env_for(home))


def test_a_link_to_a_file_others_can_write_is_refused(home: Path, tmp_path: Path) -> None:
    target = tmp_path / "shared" / "their.toml"
    target.parent.mkdir(mode=0o755)
    target.write_text('server_root_url = "http://127.0.0.1:9"\n', encoding="utf-8")
    os.chmod(target, 0o666)
    link = config_in(home)
    link.unlink()
    link.symlink_to(target)
    message = refusal(env_for(home))
    assert str(link) in message and f"a link to {target}" in message and "mode 0666" in message


def test_a_link_to_another_users_file_is_refused(home: Path, tmp_path: Path) -> None:
    target = tmp_path / "shared" / "their.toml"
    target.parent.mkdir(mode=0o755)
    target.write_text('server_root_url = "http://127.0.0.1:9"\n', encoding="utf-8")
    os.chmod(target, 0o644)  # nobody else can write it: only its owner is wrong
    chown_or_skip(target, OTHER_UID)
    link = config_in(home)
    link.unlink()
    link.symlink_to(target)
    message = refusal(env_for(home))
    assert f"belongs to another user (uid {OTHER_UID})" in message and str(target) in message


def test_another_users_config_is_refused(home: Path) -> None:
    path = config_in(home, mode=0o644)
    chown_or_skip(path, OTHER_UID)
    assert f"belongs to another user (uid {OTHER_UID})" in refusal(env_for(home))


def test_a_link_through_a_directory_others_can_write_is_refused(home: Path, tmp_path: Path) -> None:
    # The file is fine, but a link on the way sits where anyone could point it elsewhere.
    good = tmp_path / "mine.toml"
    good.write_text('default_key_type = "team"\n', encoding="utf-8")
    os.chmod(good, 0o600)
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    os.chmod(open_dir, 0o777)
    (open_dir / "hop.toml").symlink_to(good)
    link = config_in(home)
    link.unlink()
    link.symlink_to(open_dir / "hop.toml")
    assert f"chmod go-w {open_dir}" in refusal(env_for(home))


def test_a_config_named_by_oz_keys_config_is_checked_too(home: Path, tmp_path: Path) -> None:
    named = tmp_path / "named.toml"
    named.write_text('default_key_type = "team"\n', encoding="utf-8")
    os.chmod(named, 0o646)
    message = refusal(env_for(home, OZ_KEYS_CONFIG=str(named)))
    assert str(named) in message and "mode 0646" in message


# -- trusted -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "dir_mode"), [(0o600, 0o700), (0o644, 0o755), (0o400, 0o500)])
def test_a_config_only_you_can_write_is_read(home: Path, mode: int, dir_mode: int) -> None:
    path = config_in(home, mode=mode, dir_mode=dir_mode)
    try:
        settings = load_settings(Flags(), env_for(home))
        assert settings.config_path == path and settings.default_key_type.value == "Team"
        listed = cli(env_for(home), "list", "--local", "-o", "json")
        assert listed.returncode == 0, listed.stderr
    finally:
        os.chmod(path.parent, 0o700)


def test_a_link_to_your_own_file_is_read(home: Path, tmp_path: Path) -> None:
    target = tmp_path / "dotfiles" / "oz.toml"
    target.parent.mkdir(mode=0o755)
    target.write_text('default_key_type = "team"\n', encoding="utf-8")
    link = config_in(home)
    link.unlink()
    link.symlink_to(target)
    assert load_settings(Flags(), env_for(home)).default_key_type.value == "Team"


def test_a_missing_config_is_fine_even_in_an_open_directory(home: Path) -> None:
    directory = home / ".config" / "oz-keys"
    directory.mkdir(parents=True)
    os.chmod(directory, 0o777)
    assert load_settings(Flags(), env_for(home)).config_path is None
    assert cli(env_for(home), "list", "--local", "-o", "json").returncode == 0


# -- the credential is never sent --------------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[tuple[str, list[bytes]]]:
    """A server that records what each connection sends (until the headers end), then hangs up."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    received: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                data = b""
                try:
                    while b"\r\n\r\n" not in data and len(data) < 65536:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                except OSError:
                    pass
                received.append(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}", received
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()


@pytest.mark.parametrize(("mode", "refused"), [(0o666, True), (0o620, True), (0o600, False)])
def test_the_credential_never_reaches_the_server_of_a_refused_config(
    home: Path, listener: tuple[str, list[bytes]], mode: int, refused: bool
) -> None:
    url, received = listener
    path = config_in(home, f'server_root_url = "{url}"\n', mode=mode)
    result = cli(env_for(home, WARP_API_KEY=KEY), "list", "--command-timeout", "5")
    assert KEY not in result.stdout + result.stderr
    if refused:
        assert_one_line_exit_2(result, str(path), "chmod go-w")
        assert received == [], "the client connected to the refused config's server"
    else:
        # The same config, trusted: its server does get the request (so the test can fail).
        assert result.returncode == 1, result
        assert any(f"Bearer {KEY}".encode() in request for request in received), received


# -- the panel's state file ----------------------------------------------------------------------


def state_file(home: Path, mode: int) -> Path:
    path = home / ".local" / "state" / "oz-keys" / "state.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"theme": "nord"}\n', encoding="utf-8")
    os.chmod(path, mode)
    return path


def test_a_state_file_others_can_write_stops_the_panel_before_it_starts(home: Path) -> None:
    path = state_file(home, 0o666)
    # The panel needs a terminal: give it one; it refuses before drawing anything.
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "oz_tui", "--demo"], stdin=terminal, stdout=terminal,
            stderr=subprocess.PIPE, text=True, env=env_for(home, TERM="xterm"), timeout=TIMEOUT,
        )
    finally:
        os.close(terminal)
        os.close(controller)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and str(path) in done.stderr and "mode 0666" in done.stderr
    # Nor does a session obey it.
    assert PanelState(path).theme() is None
    os.chmod(path, 0o600)
    assert PanelState(path).check() is None and PanelState(path).theme() == "nord"
