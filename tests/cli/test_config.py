"""Settings resolution: flags beat the environment, the environment beats config.toml."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from oz_tui.core.models import Expiration, KeyType
from oz_tui.config import (
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_SERVER_ROOT,
    FileConfig,
    Flags,
    SettingsError,
    config_path,
    default_config_path,
    load_config,
    load_settings,
    resolve,
)

KEY = "wk-1." + "ab" * 32
OTHER_KEY = "wk-1." + "cd" * 32


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _isolated_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    return tmp_path / "config.toml"


# -- defaults ----------------------------------------------------------------------------------


def test_defaults_without_anything_use_the_local_service() -> None:
    settings = resolve(Flags(), {}, FileConfig())
    assert settings.mode == "local"
    assert settings.implicit_local is True
    assert settings.server_root_url is None
    assert settings.api_key is None and settings.api_key_source is None
    assert settings.data_dir is None
    assert settings.output_format == "pretty"
    assert settings.default_expiration is Expiration.DAYS_90
    assert settings.default_key_type is KeyType.PERSONAL
    assert settings.theme is None


def test_missing_default_file_is_fine(tmp_path: Path) -> None:
    assert load_config(tmp_path / "nope.toml") == FileConfig()


def test_default_path_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_config_path() == tmp_path / "oz-keys" / "config.toml"
    assert config_path({}) == (tmp_path / "oz-keys" / "config.toml", False)
    assert config_path({"OZ_KEYS_CONFIG": "/x/y.toml"}) == (Path("/x/y.toml"), True)
    assert config_path({"OZ_KEYS_CONFIG": "  "})[1] is False


def test_credential_without_server_means_warp() -> None:
    settings = resolve(Flags(), {"WARP_API_KEY": KEY}, FileConfig())
    assert settings.mode == "remote"
    assert settings.server_root_url == DEFAULT_SERVER_ROOT == "https://app.warp.dev"
    assert settings.api_key == KEY and settings.api_key_source == "WARP_API_KEY"


def test_server_without_credential_is_remote_unauthenticated() -> None:
    settings = resolve(Flags(), {"WARP_SERVER_ROOT_URL": "http://127.0.0.1:9/"}, FileConfig())
    assert settings.mode == "remote"
    assert settings.server_root_url == "http://127.0.0.1:9"
    assert settings.api_key is None


def test_local_and_demo_win_over_a_credential() -> None:
    env = {"WARP_API_KEY": KEY, "WARP_SERVER_ROOT_URL": "https://example.test"}
    local = resolve(Flags(local=True, data_dir="/tmp/d"), env, FileConfig())
    assert (local.mode, local.server_root_url, local.implicit_local) == ("local", None, False)
    assert local.data_dir == Path("/tmp/d")
    assert resolve(Flags(demo=True), env, FileConfig()).mode == "demo"


@pytest.mark.parametrize(
    "flags",
    [
        Flags(local=True, demo=True),
        Flags(local=True, server_root_url="https://a.test"),
        Flags(demo=True, server_root_url="https://a.test"),
    ],
)
def test_conflicting_flags(flags: Flags) -> None:
    with pytest.raises(SettingsError, match="cannot be used together"):
        resolve(flags, {}, FileConfig())


# -- precedence --------------------------------------------------------------------------------


def test_server_flag_beats_env_beats_file(cfg: Path) -> None:
    file = load_config(write(cfg, 'server_root_url = "https://file.test"\n'))
    env = {"WARP_SERVER_ROOT_URL": "https://env.test"}
    assert resolve(Flags(), {}, file).server_root_url == "https://file.test"
    assert resolve(Flags(), env, file).server_root_url == "https://env.test"
    flags = Flags(server_root_url="https://flag.test")
    assert resolve(flags, env, file).server_root_url == "https://flag.test"


def test_api_key_flag_beats_env() -> None:
    settings = resolve(Flags(api_key=OTHER_KEY), {"WARP_API_KEY": KEY}, FileConfig())
    assert settings.api_key == OTHER_KEY and settings.api_key_source == "--api-key"
    # Empty means unset.
    empty = resolve(Flags(), {"WARP_API_KEY": "", "WARP_SERVER_ROOT_URL": ""}, FileConfig())
    assert empty.mode == "local" and empty.api_key is None


def test_output_format_flag_beats_env() -> None:
    env = {"WARP_OUTPUT_FORMAT": "JSON"}
    assert resolve(Flags(), env, FileConfig()).output_format == "json"
    assert resolve(Flags(output_format="text"), env, FileConfig()).output_format == "text"
    with pytest.raises(SettingsError, match="WARP_OUTPUT_FORMAT must be one of"):
        resolve(Flags(), {"WARP_OUTPUT_FORMAT": "xml"}, FileConfig())


def test_data_dir_flag_beats_file_and_relative_file_path(cfg: Path) -> None:
    file = load_config(write(cfg, 'data_dir = "keys-here"\n'))
    assert file.data_dir == cfg.parent / "keys-here"
    assert resolve(Flags(), {}, file).data_dir == cfg.parent / "keys-here"
    assert resolve(Flags(data_dir="/elsewhere"), {}, file).data_dir == Path("/elsewhere")


def test_file_values(cfg: Path) -> None:
    write(
        cfg,
        'server_root_url = "http://127.0.0.1:8787"\n'
        'default_expiration = "never"\n'
        'default_key_type = "team"\n'
        'theme = "nord"\n',
    )
    settings = load_settings(Flags(), {"OZ_KEYS_CONFIG": str(cfg)})
    assert settings.mode == "remote" and settings.server_root_url == "http://127.0.0.1:8787"
    assert settings.default_expiration is Expiration.NEVER
    assert settings.default_key_type is KeyType.TEAM
    assert settings.theme == "nord"
    assert settings.config_path == cfg


def test_load_settings_reads_the_xdg_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "oz-keys").mkdir()
    write(tmp_path / "oz-keys" / "config.toml", 'default_expiration = "1d"\n')
    assert load_settings(Flags(), {}).default_expiration is Expiration.DAY_1


# -- broken files ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("server_root_url = \n", "invalid TOML"),
        ("colour = 'red'\n", "unknown key 'colour'"),
        ("theme = 3\n", "theme must be a string, not an integer"),
        ('default_expiration = "7d"\n', 'default_expiration must be one of "90d", "30d", "1d"'),
        ('default_key_type = "agent"\n', 'default_key_type must be "personal" or "team"'),
        ('server_root_url = "app.warp.dev"\n', "server_root_url must be an http(s) URL"),
        ('theme = "  "\n', "theme must not be empty"),
        ('clipboard_clear_seconds = "45"\n', "clipboard_clear_seconds must be a number"),
        ("clipboard_clear_seconds = true\n", "clipboard_clear_seconds must be a number"),
        ("clipboard_clear_seconds = -1\n", "between 0 (never clear) and 86400"),
        ("clipboard_clear_seconds = nan\n", "between 0 (never clear) and 86400"),
        ("clipboard_clear_seconds = inf\n", "between 0 (never clear) and 86400"),
        ('request_timeout = "60"\n', "request_timeout must be a number of seconds, not a string"),
        ("request_timeout = false\n", "request_timeout must be a number of seconds, not a boolean"),
        ("request_timeout = 0\n", "request_timeout must be a number of seconds above 0 and"),
        ("request_timeout = -5\n", "above 0 and at most 600, not -5"),
        ("request_timeout = 600.5\n", "above 0 and at most 600, not 600.5"),
        ("request_timeout = nan\n", "above 0 and at most 600"),
        ("request_timeout = inf\n", "above 0 and at most 600"),
    ],
)
def test_broken_file_names_file_and_problem(cfg: Path, text: str, problem: str) -> None:
    write(cfg, text)
    with pytest.raises(SettingsError) as caught:
        load_config(cfg)
    message = str(caught.value)
    assert message.startswith(f"{cfg}: ")
    assert problem in message
    assert "\n" not in message


def test_explicit_config_must_exist(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="no such file .*OZ_KEYS_CONFIG"):
        load_settings(Flags(), {"OZ_KEYS_CONFIG": str(tmp_path / "missing.toml")})


def test_unreadable_config(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not a regular file"):
        load_config(tmp_path)  # a directory


def test_bad_values_in_flags_and_env() -> None:
    with pytest.raises(SettingsError, match="--server-root-url must be an http"):
        resolve(Flags(server_root_url="ftp://x"), {}, FileConfig())
    with pytest.raises(SettingsError, match="WARP_SERVER_ROOT_URL must be an http"):
        resolve(Flags(), {"WARP_SERVER_ROOT_URL": "nope"}, FileConfig())


def test_a_bad_key_is_refused_without_echoing_it() -> None:
    secret = "wk-1.sec ret\x1b[31m"
    with pytest.raises(SettingsError) as caught:
        resolve(Flags(), {"WARP_API_KEY": secret}, FileConfig())
    assert "WARP_API_KEY" in str(caught.value)
    assert "sec" not in str(caught.value)


# -- secrets stay out of reprs ---------------------------------------------------------------


def test_reprs_never_show_the_key() -> None:
    flags = Flags(api_key=KEY)
    settings = resolve(flags, {}, FileConfig())
    assert KEY not in repr(settings) and KEY not in str(settings)
    assert KEY[-8:] not in repr(settings)
    assert KEY not in repr(flags)
    timed = resolve(Flags(api_key=KEY, request_timeout="5"), {}, FileConfig())
    assert timed.request_timeout == 5.0 and "request_timeout=5.0" in repr(timed)
    assert KEY not in repr(timed) and KEY[-8:] not in repr(timed)
    assert settings.credential_hint == f"wk-**{KEY[-4:]}"


@pytest.mark.parametrize(("text", "seconds"), [("", 45.0), ("clipboard_clear_seconds = 0\n", 0.0),
                                               ("clipboard_clear_seconds = 12.5\n", 12.5)])
def test_clipboard_clear_seconds(cfg: Path, text: str, seconds: float) -> None:
    write(cfg, text)
    settings = load_settings(Flags(), {"OZ_KEYS_CONFIG": str(cfg)})
    assert settings.clipboard_clear_seconds == seconds


# -- the request timeout -----------------------------------------------------------------------


def test_request_timeout_defaults_to_60_seconds() -> None:
    assert resolve(Flags(), {}, FileConfig()).request_timeout == 60.0
    remote = resolve(Flags(), {"WARP_API_KEY": KEY}, FileConfig())
    assert remote.request_timeout == DEFAULT_REQUEST_TIMEOUT == 60.0


def test_request_timeout_flag_beats_env_beats_file(cfg: Path) -> None:
    file = load_config(write(cfg, "request_timeout = 90\n"))
    assert file.request_timeout == 90.0
    env = {"OZ_KEYS_REQUEST_TIMEOUT": " 12.5 "}
    assert resolve(Flags(), {}, file).request_timeout == 90.0
    assert resolve(Flags(), env, file).request_timeout == 12.5
    assert resolve(Flags(request_timeout="2"), env, file).request_timeout == 2.0
    # An empty variable means unset, as for the others.
    assert resolve(Flags(), {"OZ_KEYS_REQUEST_TIMEOUT": ""}, file).request_timeout == 90.0
    # Through load_settings, with the file named by OZ_KEYS_CONFIG.
    settings = load_settings(Flags(), {"OZ_KEYS_CONFIG": str(cfg), **env})
    assert settings.request_timeout == 12.5


def test_a_good_flag_wins_over_a_bad_env_value() -> None:
    env = {"OZ_KEYS_REQUEST_TIMEOUT": "soon"}
    assert resolve(Flags(request_timeout="600"), env, FileConfig()).request_timeout == 600.0


@pytest.mark.parametrize("value", ["0", "-1", "600.01", "1e9", "nan", "inf", "soon", "5s", " "])
def test_bad_request_timeout_names_its_source(value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        resolve(Flags(request_timeout=value), {}, FileConfig())
    message = str(caught.value)
    assert message.startswith("--request-timeout must be a number of seconds above 0 and at")
    assert "\n" not in message
    if value.strip():
        assert f'not "{value}"' in message
        with pytest.raises(SettingsError) as caught:
            resolve(Flags(), {"OZ_KEYS_REQUEST_TIMEOUT": value}, FileConfig())
        assert str(caught.value).startswith("OZ_KEYS_REQUEST_TIMEOUT must be a number of seconds")
        assert f'not "{value}"' in str(caught.value)


def test_a_bad_request_timeout_in_the_file_names_the_file(cfg: Path) -> None:
    write(cfg, "request_timeout = 0\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(Flags(request_timeout="5"), {"OZ_KEYS_CONFIG": str(cfg)})
    assert str(caught.value).startswith(f"{cfg}: request_timeout must be")


def test_request_timeout_bounds_each_attempt_read_and_connect() -> None:
    from oz_tui.backend import request_timeouts

    default = request_timeouts(60.0)
    assert default["total_timeout"] == 60.0
    assert default["timeout"] == httpx.Timeout(30.0, connect=5.0)  # the client's own defaults
    short = request_timeouts(2.0)
    assert short["total_timeout"] == 2.0
    assert (short["timeout"].read, short["timeout"].connect) == (2.0, 1.0)
    mid = request_timeouts(10.0)
    assert (mid["timeout"].read, mid["timeout"].connect, mid["total_timeout"]) == (10.0, 5.0, 10.0)
    long = request_timeouts(600.0)
    assert (long["timeout"].read, long["timeout"].connect) == (30.0, 5.0)
    assert long["total_timeout"] == 600.0


def test_remote_backends_get_the_request_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    import oz_tui.backend
    from oz_tui.backend import build as make_backend

    seen: dict[str, object] = {}

    def fake_remote_backend(server_root: str, api_key: str | None, **options: object) -> str:
        seen.update(options, server_root=server_root)
        return "backend"

    monkeypatch.setattr(oz_tui.backend, "remote_backend", fake_remote_backend)
    flags = Flags(request_timeout="3", server_root_url="http://127.0.0.1:9")
    assert make_backend(resolve(flags, {}, FileConfig())) == "backend"
    assert seen == {
        "server_root": "http://127.0.0.1:9",
        "timeout": httpx.Timeout(3.0, connect=1.5),
        "total_timeout": 3.0,
        "client_id": "warp-cli",
        "user_agent": None,
        "transport": None,  # (no early connections asked for)
        "command_timeout": None,  # (a subcommand passes its budget; the panel has none)
    }


# -- client identity ------------------------------------------------------------------------------


def test_identity_defaults_to_warps_cli_without_a_user_agent() -> None:
    settings = resolve(Flags(), {}, FileConfig())
    assert (settings.client_id, settings.user_agent) == ("warp-cli", None)


def test_identity_env_beats_file(cfg: Path) -> None:
    write(cfg, 'client_id = "oz-keys"\nuser_agent = "Warp/1.0"\n')
    from_file = resolve(Flags(), {}, load_config(cfg))
    assert (from_file.client_id, from_file.user_agent) == ("oz-keys", "Warp/1.0")
    env = {"OZ_KEYS_CLIENT_ID": " warp-app ", "OZ_KEYS_USER_AGENT": "Warp/2.0"}
    from_env = resolve(Flags(), env, load_config(cfg))
    assert (from_env.client_id, from_env.user_agent) == ("warp-app", "Warp/2.0")
    # Empty variables are unset, as for every other variable.
    blank = resolve(Flags(), {"OZ_KEYS_CLIENT_ID": "", "OZ_KEYS_USER_AGENT": " "}, load_config(cfg))
    assert (blank.client_id, blank.user_agent) == ("oz-keys", "Warp/1.0")


def test_a_blank_user_agent_in_the_file_sends_none(cfg: Path) -> None:
    write(cfg, 'user_agent = ""\n')
    assert resolve(Flags(), {}, load_config(cfg)).user_agent is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('client_id = ""', "client_id is empty"),
        ('client_id = "warp\\r\\nX-Evil: 1"', "client_id may hold only printable ASCII"),
        ('user_agent = "W\u00e4rp/1.0"', "user_agent may hold only printable ASCII"),
        (f'client_id = "{"x" * 201}"', "client_id is longer than 200 characters"),
        ("client_id = 5", "client_id must be a string, not an integer"),
    ],
)
def test_bad_identity_in_the_file_is_one_line_naming_the_file(
    cfg: Path, text: str, problem: str
) -> None:
    write(cfg, text + "\n")
    with pytest.raises(SettingsError) as caught:
        load_config(cfg)
    message = str(caught.value)
    assert message.startswith(f"{cfg}: {problem}")
    assert "\n" not in message and "\r" not in message


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"OZ_KEYS_CLIENT_ID": "warp cli\x1b[31m"}, "OZ_KEYS_CLIENT_ID may hold only printable ASCII"),
        ({"OZ_KEYS_USER_AGENT": "Wa\u2028rp/1.0"}, "OZ_KEYS_USER_AGENT may hold only printable ASCII"),
    ],
)
def test_bad_identity_in_the_environment_names_the_variable(
    env: dict[str, str], problem: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        resolve(Flags(), env, FileConfig())
    assert str(caught.value).startswith(problem)
    assert "\x1b" not in str(caught.value)


@pytest.mark.parametrize("mode", ["remote", "local", "demo"])
def test_every_backend_gets_the_identity(mode: str, tmp_path: Path) -> None:
    import asyncio

    from oz_tui.backend import build as make_backend

    flags = {
        "remote": Flags(server_root_url="http://127.0.0.1:9"),
        "local": Flags(local=True, data_dir=str(tmp_path)),
        "demo": Flags(demo=True),
    }[mode]
    env = {"OZ_KEYS_CLIENT_ID": "oz-keys-test", "OZ_KEYS_USER_AGENT": "Warp/1.0"}
    backend = make_backend(resolve(flags, env, FileConfig()))
    try:
        if mode == "remote":
            assert backend.client.identity.client_id == "oz-keys-test"
            assert backend.client.identity.user_agent == "Warp/1.0"
        else:
            # The local store in process: no request, so no header to carry an identity
            # (`serve` is reached like any server, with the identity).
            from oz_tui.local.direct import DirectClient

            assert isinstance(backend.client, DirectClient)
    finally:
        asyncio.run(backend.aclose())
# -- the example config in docs/configuration.md ---------------------------------------------------------------


def _readme_example_config() -> str:
    readme = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text(encoding="utf-8")
    section = readme[readme.index("**Config file.**"):]
    start = section.index("```toml\n") + len("```toml\n")
    return section[start:section.index("```", start)]


def test_the_readme_example_lists_every_setting_and_action() -> None:
    import re

    from oz_tui.config import CONFIG_KEYS
    from oz_tui.core.keymap import PANEL_ACTIONS

    example = _readme_example_config()
    for key in CONFIG_KEYS:
        if key == "keymap":
            assert re.search(r"^\[keymap\]", example, re.M), "no [keymap] table"
            continue
        assert re.search(rf"^#? ?{key}\s*=", example, re.M), f"{key} is not in the example"
    keymap = example[example.index("[keymap]"):]
    for action in PANEL_ACTIONS:
        assert re.search(rf'^{action.id}\s*=\s*"{re.escape(action.keys)}"', keymap, re.M), action


def test_the_readme_example_is_valid_and_shows_the_defaults(cfg: Path) -> None:
    from oz_tui.core.keymap import PANEL_ACTIONS

    write(cfg, _readme_example_config())
    config = load_config(cfg)
    assert config.keymap == {action.id: action.keys for action in PANEL_ACTIONS}
    with_example = resolve(Flags(), {}, config)
    without = resolve(Flags(), {}, FileConfig())
    for name in ("mode", "server_root_url", "default_expiration", "default_key_type", "theme",
                 "data_dir", "request_timeout", "clipboard_clear_seconds"):
        assert getattr(with_example, name) == getattr(without, name), name


# -- one table -----------------------------------------------------------------------------------


def test_every_setting_of_the_table_is_resolved_to_its_default() -> None:
    import dataclasses

    from oz_tui.config import SETTINGS

    settings = resolve(Flags(), {}, FileConfig())
    fields = {field.name for field in dataclasses.fields(settings)}
    for setting in SETTINGS:
        if setting.generic:
            assert setting.name in fields, setting.name
            if setting.name != "server_root_url":  # the mode decides it
                assert getattr(settings, setting.name) == setting.default, setting.name


def test_the_global_options_are_the_settings_flags() -> None:
    from oz_tui.cli import build_parser
    from oz_tui.config import SETTINGS, flags_from

    line = build_parser()
    for setting in SETTINGS:
        for flag in setting.flags:
            given = [flag] if setting.is_switch else [flag, "json"]
            args, _spec = line.parse([*given, "list"])
            assert getattr(flags_from(args), setting.name) == (True if setting.is_switch else "json")


def test_every_file_setting_is_read_from_the_file(cfg: Path) -> None:
    from oz_tui.config import CONFIG_KEYS

    example = load_config(write(cfg, _readme_example_config()))
    for key in CONFIG_KEYS:
        # Commented out in the example, or "" (no User-Agent, the default).
        if key not in ("server_root_url", "theme", "data_dir", "user_agent"):
            assert key in example.values, key


def test_help_lists_every_variable_of_the_settings_table() -> None:
    """`oz-keys --help`'s "environment:" section is the table's variables, each with its line."""
    import io

    from oz_tui import cli
    from oz_tui.settings.table import SETTINGS

    out = io.StringIO()
    assert cli.run(["--help"], env={}, stdout=out, stderr=io.StringIO()) == 0
    text = out.getvalue()
    section = text[text.index("environment:\n"):text.index("\nexit codes:")].splitlines()[1:]
    expected = [s for s in SETTINGS if s.env and not s.env.startswith("TEXTUAL")]
    assert [line.split()[0] for line in section if line.strip()] == [s.env for s in expected]
    for setting, line in zip(expected, (l for l in section if l.strip())):
        assert line.split(None, 1)[1] == setting.env_help
