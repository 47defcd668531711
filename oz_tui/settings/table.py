"""Every setting, declared once: its name, type, config key, environment variable, flag, default,
check and help. The config-file reader (`config_file`), the resolution (`resolve`), the command
line's global options (oz_tui/cli/parser.py) and the table in docs/configuration.md (`doc_table`,
kept equal by tests/cross_cutting/test_docs.py) all come from `SETTINGS`.

Precedence, for every setting: its flag, then its environment variable (empty means unset), then
`config.toml`, then its default. No Textual and no network here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from oz_tui.api.headers import DEFAULT_CLIENT_ID
from oz_tui.core.models import Expiration, KeyType
from oz_tui.settings.checks import (
    SettingsError,
    check_header_setting,
    normalize_server_url,
    parse_seconds,
    quote,
    seconds_range,
    toml_type,
    user_path,
    valid_seconds,
)

APP_NAME = "oz-keys"
CONFIG_FILENAME = "config.toml"
DEFAULT_SERVER_ROOT = "https://app.warp.dev"  # the same as oz_tui.api.client's, without httpx

ENV_API_KEY = "WARP_API_KEY"
ENV_SERVER_ROOT = "WARP_SERVER_ROOT_URL"
ENV_OUTPUT_FORMAT = "WARP_OUTPUT_FORMAT"
ENV_CONFIG = "OZ_KEYS_CONFIG"
ENV_REQUEST_TIMEOUT = "OZ_KEYS_REQUEST_TIMEOUT"
ENV_COMMAND_TIMEOUT = "OZ_KEYS_COMMAND_TIMEOUT"
ENV_CLIENT_ID = "OZ_KEYS_CLIENT_ID"
ENV_USER_AGENT = "OZ_KEYS_USER_AGENT"

OUTPUT_FORMATS = ("pretty", "json", "ndjson", "text")
KEY_TYPES = {"personal": KeyType.PERSONAL, "team": KeyType.TEAM}
#: How long a copied key may stay on the system clipboard, unless configured.
DEFAULT_CLIPBOARD_CLEAR_SECONDS = 45.0
#: The longest `clipboard_clear_seconds` accepted (a day).
MAX_CLIPBOARD_CLEAR_SECONDS = 86_400
#: Seconds one request attempt to a server may take, unless configured (the client's default).
DEFAULT_REQUEST_TIMEOUT = 60.0
#: The longest `request_timeout` accepted (ten minutes).
MAX_REQUEST_TIMEOUT = 600
#: Seconds a whole CLI command may wait on a server, over all its requests, attempts and retries,
#: unless configured: a silent server costs half a minute, not several.
DEFAULT_COMMAND_TIMEOUT = 30.0
#: The longest `command_timeout` accepted (an hour).
MAX_COMMAND_TIMEOUT = 3600

#: A flag's or variable's text -> the value; `SettingsError` naming `source` (the flag or variable).
FromText = Callable[[str, str], Any]
#: A TOML value -> the value; `SettingsError` naming the file and the key.
FromFile = Callable[[Any, Path, str], Any]


class Setting(NamedTuple):
    """One setting. (A NamedTuple, not a dataclass: building the class costs start-up time.)"""

    #: The attribute on `Settings` and `Flags`.
    name: str
    #: What it is, for the docs' table.
    label: str
    #: The value when nothing sets it.
    default: Any = None
    #: The docs' "Default" cell.
    shown_default: str = ""
    #: config.toml may set it, under its `name`.
    in_file: bool = False
    env: str | None = None
    #: The variable's line under "environment:" in `oz-keys --help`.
    env_help: str = ""
    #: Its command-line flags (the last one is the name used in messages).
    flags: tuple[str, ...] = ()
    from_text: FromText | None = None
    from_file: FromFile | None = None
    #: The flag's --help line.
    help: str = ""
    #: More argparse options for the flag (metavar, action, choices); never changed in place.
    flag_options: Mapping[str, Any] = {}
    #: Never shown (the credential).
    secret: bool = False
    #: False: `resolve` works it out itself (the credential, the mode, the config file).
    generic: bool = True
    #: The docs' cells where the plain name is not enough.
    file_doc: str | None = None
    env_doc: str | None = None

    @property
    def flag(self) -> str | None:
        return self.flags[-1] if self.flags else None

    @property
    def is_switch(self) -> bool:
        return self.flag_options.get("action") == "store_true"


# -- the checks of a value from the file ----------------------------------------------------------


def _problem(path: Path, text: str) -> SettingsError:
    return SettingsError(f"{path}: {text}")


def _string(value: Any, path: Path, key: str) -> str:
    if not isinstance(value, str):
        raise _problem(path, f"{key} must be a string, not {toml_type(value)}")
    return value


def _number(value: Any, path: Path, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _problem(path, f"{key} must be a number of seconds, not {toml_type(value)}")
    return value


def _file_server(value: Any, path: Path, key: str) -> str:
    return normalize_server_url(_string(value, path, key), f"{path}: {key}")


def _file_expiration(value: Any, path: Path, key: str) -> Expiration:
    text = _string(value, path, key)
    try:
        return Expiration.from_code(text.strip().lower())
    except ValueError:
        raise _problem(
            path,
            f"{key} must be one of " + ", ".join(f'"{c.code}"' for c in Expiration)
            + f", not {quote(text)}",
        ) from None


def _file_key_type(value: Any, path: Path, key: str) -> KeyType:
    text = _string(value, path, key)
    key_type = KEY_TYPES.get(text.strip().lower())
    if key_type is None:
        raise _problem(path, f'{key} must be "personal" or "team", not {quote(text)}')
    return key_type


def _file_nonblank(value: Any, path: Path, key: str) -> str:
    text = _string(value, path, key)
    if not text.strip():
        raise _problem(path, f"{key} must not be empty")
    return text.strip()


def _file_data_dir(value: Any, path: Path, key: str) -> Path:
    # A relative data_dir is relative to the config file, not to wherever oz-keys runs.
    return path.parent / user_path(_file_nonblank(value, path, key), f"{path}: {key}")


def _file_clear_seconds(value: Any, path: Path, key: str) -> float:
    seconds = _number(value, path, key)
    if not 0 <= seconds <= MAX_CLIPBOARD_CLEAR_SECONDS:  # NaN fails this too
        raise _problem(
            path,
            f"{key} must be between 0 (never clear) and {MAX_CLIPBOARD_CLEAR_SECONDS}, not {value}",
        )
    return float(seconds)


def _file_seconds(maximum: int) -> FromFile:
    def check(value: Any, path: Path, key: str) -> float:
        seconds = _number(value, path, key)
        if not valid_seconds(seconds, maximum):
            raise _problem(path, f"{key} {seconds_range(maximum)}, not {value}")
        return float(seconds)

    return check


def _file_header(*, blank_sends_none: bool) -> FromFile:
    def check(value: Any, path: Path, key: str) -> str | None:
        text = _string(value, path, key)
        if blank_sends_none and not text.strip():
            return None  # no such header at all, like Warp's own client
        return check_header_setting(text, f"{path}: {key}")

    return check


def _file_keymap(value: Any, path: Path, key: str) -> Mapping[str, str]:
    from oz_tui.core.keymap import KeymapError, parse_keymap  # only a file with a [keymap]

    try:
        return parse_keymap(value)
    except KeymapError as exc:
        raise _problem(path, str(exc)) from None


# -- the checks of a flag's or variable's text ----------------------------------------------------


def _text_path(text: str, source: str) -> Path:
    if not text.strip():
        raise SettingsError(f"{source} is empty")
    return user_path(text, source)


def _text_seconds(maximum: int) -> FromText:
    return lambda text, source: parse_seconds(text, source, maximum)


def _text_output_format(text: str, source: str) -> str:
    chosen = text.strip().lower()
    if chosen not in OUTPUT_FORMATS:
        raise SettingsError(
            f"{source} must be one of {', '.join(OUTPUT_FORMATS)}, not {quote(text)}"
        )
    return chosen


# -- the table ----------------------------------------------------------------------------------

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "api_key", "The credential", shown_default="none: the local key service",
        env=ENV_API_KEY, flags=("--api-key",), secret=True, generic=False,
        env_help="API key (wk-...) sent as a Bearer token",
        file_doc="— (never in a file)", flag_options={"metavar": "KEY"},
        help=f"API key to authenticate with (prefer the {ENV_API_KEY} environment variable)",
    ),
    Setting(
        "server_root_url", "The server",
        shown_default=f"`{DEFAULT_SERVER_ROOT}` with a credential, else the local key service",
        in_file=True, env=ENV_SERVER_ROOT, flags=("--server-root-url",),
        env_help="server root URL",
        from_text=normalize_server_url, from_file=_file_server, flag_options={"metavar": "URL"},
        help=f"server to talk to (env {ENV_SERVER_ROOT}; default {DEFAULT_SERVER_ROOT} "
        "when there is a credential)",
    ),
    Setting(
        "local", "Use the local key service", False, "only without a credential or server",
        flags=("--local",), generic=False, flag_options={"action": "store_true"},
        help="use the embedded local key service (in the user data dir, or --data-dir)",
    ),
    Setting(
        "demo", "Use in-memory demo data (nothing is saved)", False, "off", flags=("--demo",),
        generic=False, flag_options={"action": "store_true"},
        help="use an in-memory demo data set (nothing is saved)",
    ),
    Setting(
        "default_expiration", "New keys' expiration", Expiration.DAYS_90, '`"90d"`',
        in_file=True, from_file=_file_expiration,
    ),
    Setting(
        "default_key_type", "New keys' type", KeyType.PERSONAL, '`"personal"`',
        in_file=True, from_file=_file_key_type,
    ),
    Setting(
        "theme", "The panel's theme", None,
        "the one last picked in the panel, else `textual-dark`",
        in_file=True, from_file=_file_nonblank,
    ),
    Setting(
        "data_dir", "Local key service dir", None, "the user data dir (`~/.local/share/oz-keys`)",
        in_file=True, flags=("--data-dir",), from_text=_text_path, from_file=_file_data_dir,
        flag_options={"metavar": "DIR"}, help="the local key service's directory",
    ),
    Setting(
        "clipboard_clear_seconds", "Clearing a copied key from the clipboard",
        DEFAULT_CLIPBOARD_CLEAR_SECONDS, "`45` (0: never)",
        in_file=True, from_file=_file_clear_seconds,
    ),
    Setting(
        "request_timeout", "Seconds per request attempt", DEFAULT_REQUEST_TIMEOUT,
        f"`{DEFAULT_REQUEST_TIMEOUT:g}` (at most {MAX_REQUEST_TIMEOUT})",
        in_file=True, env=ENV_REQUEST_TIMEOUT, flags=("--request-timeout",),
        env_help=f"seconds one request attempt may take (at most {MAX_REQUEST_TIMEOUT}; "
        f"default {DEFAULT_REQUEST_TIMEOUT:g})",
        from_text=_text_seconds(MAX_REQUEST_TIMEOUT),
        from_file=_file_seconds(MAX_REQUEST_TIMEOUT), flag_options={"metavar": "SECONDS"},
        help=f"how long one request attempt to a server may take, up to {MAX_REQUEST_TIMEOUT} (env "
        f"{ENV_REQUEST_TIMEOUT}; config request_timeout; default {DEFAULT_REQUEST_TIMEOUT:g})",
    ),
    Setting(
        "command_timeout",
        "Seconds a whole CLI command may wait on the server (all requests, attempts and retries)",
        DEFAULT_COMMAND_TIMEOUT, f"`{DEFAULT_COMMAND_TIMEOUT:g}` (at most {MAX_COMMAND_TIMEOUT})",
        in_file=True, env=ENV_COMMAND_TIMEOUT, flags=("--command-timeout",),
        env_help=f"seconds a whole command may wait on servers (at most {MAX_COMMAND_TIMEOUT}; "
        f"default {DEFAULT_COMMAND_TIMEOUT:g})",
        from_text=_text_seconds(MAX_COMMAND_TIMEOUT),
        from_file=_file_seconds(MAX_COMMAND_TIMEOUT), flag_options={"metavar": "SECONDS"},
        help=f"how long a whole command may wait on a server, all attempts and retries "
        f"included, up to {MAX_COMMAND_TIMEOUT} (env {ENV_COMMAND_TIMEOUT}; config "
        f"command_timeout; default {DEFAULT_COMMAND_TIMEOUT:g})",
    ),
    Setting(
        "output_format", "Output format", "pretty", "`pretty`",
        env=ENV_OUTPUT_FORMAT, flags=("-o", "--output-format"), from_text=_text_output_format,
        env_help="pretty | json | ndjson | text",
        flag_options={"choices": OUTPUT_FORMATS, "metavar": "FORMAT"},
        help=f"pretty, json, ndjson or text (env {ENV_OUTPUT_FORMAT}; default pretty)",
    ),
    Setting(
        "client_id", "`X-Warp-Client-ID`", DEFAULT_CLIENT_ID, f"`{DEFAULT_CLIENT_ID}`",
        in_file=True, env=ENV_CLIENT_ID, from_text=check_header_setting,
        env_help=f"X-Warp-Client-ID sent with every request (default {DEFAULT_CLIENT_ID})",
        from_file=_file_header(blank_sends_none=False),
    ),
    Setting(
        "user_agent", "`User-Agent`", None, "none", in_file=True, env=ENV_USER_AGENT,
        env_help="User-Agent sent with every request (default: none)",
        from_text=check_header_setting, from_file=_file_header(blank_sends_none=True),
    ),
    Setting(
        "keymap", "The panel's keys", {}, "see the example below", in_file=True,
        from_file=_file_keymap, file_doc="`[keymap]`",
    ),
    Setting(
        "config_path", "The config file", None, "`~/.config/oz-keys/config.toml`", env=ENV_CONFIG,
        env_help="config file to read instead of the default config.toml",
        generic=False, env_doc=f"`{ENV_CONFIG}` (must exist)",
    ),
)

BY_NAME = {setting.name: setting for setting in SETTINGS}
#: The keys config.toml may hold, in the order the table lists them.
FILE_SETTINGS = {setting.name: setting for setting in SETTINGS if setting.in_file}
CONFIG_KEYS = tuple(FILE_SETTINGS)
FLAG_SETTINGS = tuple(setting for setting in SETTINGS if setting.flags)


def doc_table() -> str:
    """The table under "Every setting" in docs/configuration.md."""

    def cell(text: str | None, override: str | None) -> str:
        return override or (f"`{text}`" if text else "—")

    rows = [
        "| Setting | `config.toml` | Environment | Flag | Default |",
        "|---|---|---|---|---|",
    ]
    for setting in SETTINGS:
        in_file = setting.name if setting.in_file else None
        flags = ", ".join(f"`{flag}`" for flag in setting.flags) or "—"
        rows.append(
            f"| {setting.label} | {cell(in_file, setting.file_doc)} "
            f"| {cell(setting.env, setting.env_doc)} | {flags} | {setting.shown_default} |"
        )
    return "\n".join(rows) + "\n"
