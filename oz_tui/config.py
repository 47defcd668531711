"""Settings: command-line flags, then environment, then `config.toml`, then defaults.

No Textual and no network here. Everything a person can get wrong (a broken config file, a bad
URL, an unknown output format) raises `SettingsError`, whose message names where the value came
from; the CLI prints it on one line and exits 2.

The config file is `config.toml` in the user config dir (`~/.config/oz-keys/` on Linux,
`$XDG_CONFIG_HOME` honoured), or the file `OZ_KEYS_CONFIG` names. Keys::

    server_root_url    = "https://app.warp.dev"   # a server to use even without a credential
    default_expiration = "90d"                    # "1d" | "30d" | "90d" | "never"
    default_key_type   = "personal"               # "personal" | "team"
    theme              = "textual-dark"           # a Textual theme name, for the panel
    data_dir           = "~/oz-keys-data"         # the local key service's directory
                                                  # (relative: to the config file's directory)
    clipboard_clear_seconds = 45                  # clear a copied key from the system
                                                  # clipboard after this long, if it is still
                                                  # there; 0 never clears
    request_timeout    = 60                       # seconds one request attempt may take
                                                  # (each read at most 30 s of it, connecting
                                                  # at most 5 s); raise it for slow links
    command_timeout    = 30                       # seconds a whole command may wait on the
                                                  # server: every request, attempt and retry
    client_id          = "warp-cli"               # the X-Warp-Client-ID header
    user_agent         = ""                       # a User-Agent header ("": none, as Warp's
                                                  # own client); e.g. "Warp/1.0"

    [keymap]                                      # the panel's keys (see oz_tui/keymap.py)
    create = "c"
    delete = "x,delete"
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

from oz_tui.api.headers import DEFAULT_CLIENT_ID, header_value_problem
from oz_tui.api.models import Expiration, KeyType

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
CONFIG_KEYS = (
    "server_root_url",
    "default_expiration",
    "default_key_type",
    "theme",
    "data_dir",
    "clipboard_clear_seconds",
    "request_timeout",
    "command_timeout",
    "client_id",
    "user_agent",
    "keymap",
)
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
#: A config file larger than this is refused unread (a real one is well under 1 KB).
MAX_CONFIG_BYTES = 64 * 1024

Mode = Literal["remote", "local", "demo"]


class SettingsError(Exception):
    """A setting that cannot be used. `str()` is one line for the user; exit code 2."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


# -- the config file ---------------------------------------------------------------------------


class FileConfig(NamedTuple):
    """What `config.toml` says; None where it says nothing."""

    path: Path | None = None
    server_root_url: str | None = None
    default_expiration: Expiration | None = None
    default_key_type: KeyType | None = None
    theme: str | None = None
    data_dir: Path | None = None
    clipboard_clear_seconds: float | None = None
    request_timeout: float | None = None
    command_timeout: float | None = None
    client_id: str | None = None
    #: "" means: send no User-Agent.
    user_agent: str | None = None
    #: The `[keymap]` table, checked: {action id: keys}.
    keymap: Mapping[str, str] | None = None


def default_config_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME)) / CONFIG_FILENAME


def config_path(env: Mapping[str, str]) -> tuple[Path, bool]:
    """The config file to read, and whether it was named explicitly (by `OZ_KEYS_CONFIG`)."""
    named = env.get(ENV_CONFIG, "").strip()
    if named:
        return user_path(named, ENV_CONFIG), True
    return default_config_path(), False


def user_path(text: str, source: str) -> Path:
    """A path a person typed (`~` and `~user` expanded), or `SettingsError` naming `source`."""
    if "\0" in text:
        raise SettingsError(f"{source} contains a NUL character: {_quote(text)}")
    if _has_surrogates(text) and not text.startswith("~"):
        return Path(text)  # bytes that are not UTF-8: a valid path on POSIX, used as is
    try:
        return Path(text).expanduser()
    except RuntimeError:  # ~user for a user that does not exist, or no home directory
        user = text.split("/", 1)[0]
        raise SettingsError(
            f"{source}: cannot expand {_quote(user)}: no such user or no home directory"
        ) from None


def _has_surrogates(text: str) -> bool:
    """True for text that came from bytes that are not UTF-8 (argv, environment)."""
    return any("\ud800" <= char <= "\udfff" for char in text)


def load_config(path: Path, *, required: bool = False, home: str | None = None) -> FileConfig:
    """Read and check `path`. A missing file is an empty config unless `required`; one others
    could change is refused (oz_tui/file_safety.py; `home`: where its check stops)."""
    raw = _read_config_file(path, required=required, home=home)
    if raw is None:
        return FileConfig()
    import tomllib  # only when there is a file to read

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise SettingsError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise SettingsError(f"{path}: invalid TOML: nested too deeply") from None
    return parse_config(data, path)


def _read_config_file(path: Path, *, required: bool, home: str | None = None) -> bytes | None:
    """The file's bytes; None when it is missing and not `required`. Only a regular file of at
    most MAX_CONFIG_BYTES is read: a FIFO would block and /dev/zero would never end."""
    import stat

    try:
        # O_NONBLOCK: opening a FIFO without a writer returns at once instead of waiting.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        if required:
            raise SettingsError(f"{path}: no such file (named by {ENV_CONFIG})") from None
        return None
    except (OSError, ValueError) as exc:
        raise SettingsError(f"{path}: cannot read it: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SettingsError(f"{path}: not a regular file; the config must be a TOML file")
        if info.st_size > MAX_CONFIG_BYTES:
            raise SettingsError(
                f"{path}: too large for a config file ({info.st_size} bytes; "
                f"at most {MAX_CONFIG_BYTES})"
            )
        from oz_tui.file_safety import trust_problem

        # Its server_root_url receives WARP_API_KEY: a file others can change is not read.
        problem = trust_problem(path, info, home=home)
        if problem:
            raise SettingsError(f"{path}: {problem}")
        with os.fdopen(fd, "rb", closefd=False) as file:
            raw = file.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_CONFIG_BYTES:  # it grew while being read
        raise SettingsError(f"{path}: too large for a config file (at most {MAX_CONFIG_BYTES} bytes)")
    return raw


def parse_config(data: Mapping[str, Any], path: Path) -> FileConfig:
    def problem(text: str) -> SettingsError:
        return SettingsError(f"{path}: {text}")

    unknown = sorted(set(data) - set(CONFIG_KEYS))
    if unknown:
        raise problem(
            f"unknown key {unknown[0]!r}; known keys are " + ", ".join(CONFIG_KEYS)
        )

    def string(key: str) -> str | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise problem(f"{key} must be a string, not {_toml_type(value)}")
        return value

    server = string("server_root_url")
    expiration = string("default_expiration")
    key_type = string("default_key_type")
    theme = string("theme")
    data_dir = string("data_dir")
    client_id = string("client_id")
    user_agent = string("user_agent")
    if client_id is not None:
        client_id = check_header_setting(client_id, f"{path}: client_id")
    if user_agent is not None:
        # Blank: no User-Agent at all, like Warp's own client.
        user_agent = check_header_setting(user_agent, f"{path}: user_agent") if user_agent.strip() else ""

    parsed_expiration = None
    if expiration is not None:
        try:
            parsed_expiration = Expiration.from_code(expiration.strip().lower())
        except ValueError:
            raise problem(
                "default_expiration must be one of "
                + ", ".join(f'"{c.code}"' for c in Expiration)
                + f", not {_quote(expiration)}"
            ) from None
    parsed_type = None
    if key_type is not None:
        parsed_type = KEY_TYPES.get(key_type.strip().lower())
        if parsed_type is None:
            raise problem(f'default_key_type must be "personal" or "team", not {_quote(key_type)}')
    if theme is not None and not theme.strip():
        raise problem("theme must not be empty")
    if data_dir is not None and not data_dir.strip():
        raise problem("data_dir must not be empty")
    clear_seconds = data.get("clipboard_clear_seconds")
    if clear_seconds is not None:
        if isinstance(clear_seconds, bool) or not isinstance(clear_seconds, (int, float)):
            raise problem(
                f"clipboard_clear_seconds must be a number of seconds, not {_toml_type(clear_seconds)}"
            )
        if not 0 <= clear_seconds <= MAX_CLIPBOARD_CLEAR_SECONDS:  # NaN fails this too
            raise problem(
                f"clipboard_clear_seconds must be between 0 (never clear) and "
                f"{MAX_CLIPBOARD_CLEAR_SECONDS}, not {clear_seconds}"
            )
    def seconds(key: str, maximum: int) -> float | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise problem(f"{key} must be a number of seconds, not {_toml_type(value)}")
        if not _valid_seconds(value, maximum):
            raise problem(f"{key} {_seconds_range(maximum)}, not {value}")
        return float(value)

    request_timeout = seconds("request_timeout", MAX_REQUEST_TIMEOUT)
    command_timeout = seconds("command_timeout", MAX_COMMAND_TIMEOUT)
    keymap = None
    if "keymap" in data:
        from oz_tui.keymap import KeymapError, parse_keymap  # only a file with a [keymap]

        try:
            keymap = parse_keymap(data["keymap"])
        except KeymapError as exc:
            raise problem(str(exc)) from None
    return FileConfig(
        path=path,
        keymap=keymap,
        server_root_url=(
            normalize_server_url(server, f"{path}: server_root_url") if server is not None else None
        ),
        default_expiration=parsed_expiration,
        default_key_type=parsed_type,
        theme=theme.strip() if theme is not None else None,
        # A relative data_dir is relative to the config file, not to wherever oz-keys runs.
        data_dir=(
            path.parent / user_path(data_dir.strip(), f"{path}: data_dir")
            if data_dir is not None
            else None
        ),
        clipboard_clear_seconds=float(clear_seconds) if clear_seconds is not None else None,
        request_timeout=request_timeout,
        command_timeout=command_timeout,
        client_id=client_id,
        user_agent=user_agent,
    )


def check_header_setting(value: str, source: str) -> str:
    """`value` (client_id, user_agent) as sent in a header, or `SettingsError` naming `source`."""
    problem = header_value_problem(value.strip())
    if problem:
        raise SettingsError(f"{source} {problem}, not {_quote(value)}")
    return value.strip()


def _seconds_range(maximum: int) -> str:
    return f"must be a number of seconds above 0 and at most {maximum}"


def _valid_seconds(seconds: float, maximum: int) -> bool:
    return 0 < seconds <= maximum  # NaN fails this too


def parse_seconds(text: str, source: str, maximum: int) -> float:
    """`text` (from a flag or the environment) as seconds, or `SettingsError` naming `source`."""
    try:
        seconds = float(text.strip())
    except ValueError:
        seconds = float("nan")
    if not _valid_seconds(seconds, maximum):
        raise SettingsError(f"{source} {_seconds_range(maximum)}, not {_quote(text)}")
    return seconds


def _timeout_setting(
    flag: str | None,
    flag_name: str,
    env: Mapping[str, str],
    env_name: str,
    file_value: float | None,
    default: float,
    maximum: int,
) -> float:
    """A timeout from its flag, then its environment variable, then the file, then `default`."""
    if flag is not None:
        return parse_seconds(flag, flag_name, maximum)
    if env.get(env_name, "").strip():
        return parse_seconds(env[env_name], env_name, maximum)
    return file_value if file_value is not None else default


def _toml_type(value: object) -> str:
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }
    return names.get(type(value), f"a {type(value).__name__}")


def _quote(text: str) -> str:
    from oz_tui.sanitize import safe_text

    return '"' + safe_text(text, max_length=60) + '"'


def normalize_server_url(value: str, source: str) -> str:
    """`value` as a server root (scheme and host, no trailing slash), or `SettingsError`."""
    from urllib.parse import urlsplit  # only when a server is named

    text = value.strip()
    like = "an http(s) URL like https://app.warp.dev"
    if _has_surrogates(text) or not text.isprintable() or any(c.isspace() for c in text):
        raise SettingsError(f"{source} must be {like}, not {_quote(value)}")
    try:
        parts = urlsplit(text)
    except ValueError:  # unbalanced IPv6 brackets
        raise SettingsError(f"{source} is not a valid URL: {_quote(value)}") from None
    if parts.username is not None or parts.password is not None:
        # Never echo it: the part before "@" may be a password.
        raise SettingsError(
            f"{source} must not hold a user name or password (user:pass@); "
            f"the API key goes in {ENV_API_KEY}"
        )
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise SettingsError(f"{source} must be {like}, not {_quote(value)}")
    if parts.netloc.count("[") != parts.netloc.count("]") or parts.netloc.count("]") > 1:
        raise SettingsError(f"{source} is not a valid URL: {_quote(value)}")
    try:
        port = parts.port  # raises on a port that is not a number up to 65535
    except ValueError:
        port = 0
    if port == 0:
        raise SettingsError(f"{source} has an invalid port: {_quote(value)}")
    if not parts.hostname or not _valid_host(parts.hostname, bracketed="[" in parts.netloc):
        raise SettingsError(f"{source} has no valid host name: {_quote(value)}")
    return text.rstrip("/")


#: Compiled (and cached by `re`) the first time a server name is checked, not at start-up.
_DNS_LABEL = r"(?i)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"


def _valid_host(host: str, *, bracketed: bool) -> bool:
    """An IP literal (IPv6 only in brackets) or a DNS name (IDNA) a client can connect to."""
    import ipaddress

    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if bracketed:
            return False
        try:
            name = host.encode("idna").decode("ascii")
        except UnicodeError:
            return False
        labels = name.removesuffix(".").split(".")
        return len(name) <= 253 and all(re.fullmatch(_DNS_LABEL, label) for label in labels)
    return bracketed == (address.version == 6)


# -- resolution ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Flags:
    """The global command-line flags; None / False where not given."""

    api_key: str | None = None
    server_root_url: str | None = None
    local: bool = False
    demo: bool = False
    data_dir: str | None = None
    output_format: str | None = None
    #: As typed; checked by `resolve`.
    request_timeout: str | None = None
    command_timeout: str | None = None

    def __repr__(self) -> str:
        hint = "<set>" if self.api_key else None
        return (
            f"Flags(api_key={hint!r}, server_root_url={self.server_root_url!r}, "
            f"local={self.local!r}, demo={self.demo!r}, data_dir={self.data_dir!r}, "
            f"output_format={self.output_format!r}, request_timeout={self.request_timeout!r}, "
            f"command_timeout={self.command_timeout!r})"
        )


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the CLI and the panel need to start. The repr never shows the credential."""

    #: "remote": a server over HTTP; "local": the embedded service on `data_dir`;
    #: "demo": the embedded service on the in-memory demo data.
    mode: Mode
    #: The server to talk to in remote mode (never None there); None otherwise.
    server_root_url: str | None
    api_key: str | None = field(repr=False)
    #: Where the credential came from: "--api-key" or "WARP_API_KEY"; None without one.
    api_key_source: str | None
    #: The local service's directory when chosen by flag or config; None means the default.
    data_dir: Path | None
    output_format: str
    default_expiration: Expiration
    default_key_type: KeyType
    theme: str | None
    #: The config file that was read, when there was one.
    config_path: Path | None
    #: True when the local service was chosen because nothing else was configured.
    implicit_local: bool = False
    #: Seconds after which a key copied to the system clipboard is cleared (if unchanged); 0: never.
    clipboard_clear_seconds: float = DEFAULT_CLIPBOARD_CLEAR_SECONDS
    #: Seconds one request attempt to a server may take (remote mode; each read and the connect
    #: are bounded by it too).
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    #: Seconds a CLI command may wait on the server in all (remote mode; every request, attempt,
    #: retry and backoff counts; a prompt between requests does not).
    command_timeout: float = DEFAULT_COMMAND_TIMEOUT
    #: `X-Warp-Client-ID` on every request.
    client_id: str = DEFAULT_CLIENT_ID
    #: The User-Agent header; None sends none (as Warp's own client).
    user_agent: str | None = None
    #: The panel's rebound actions: {action id: keys} (oz_tui/keymap.py).
    keymap: Mapping[str, str] = field(default_factory=dict)

    @property
    def credential_hint(self) -> str | None:
        return f"wk-**{self.api_key[-4:]}" if self.api_key else None


def resolve(flags: Flags, env: Mapping[str, str], config: FileConfig) -> Settings:
    """Combine flags (first), environment, the config file and defaults."""
    if flags.local and flags.demo:
        raise SettingsError("--local and --demo cannot be used together")
    if (flags.local or flags.demo) and flags.server_root_url:
        which = "--local" if flags.local else "--demo"
        raise SettingsError(f"{which} and --server-root-url cannot be used together")

    # Output format: flag, then WARP_OUTPUT_FORMAT, then pretty.
    if flags.output_format is not None:
        output_format = flags.output_format
    else:
        env_format = env.get(ENV_OUTPUT_FORMAT, "").strip().lower()
        if env_format and env_format not in OUTPUT_FORMATS:
            raise SettingsError(
                f"{ENV_OUTPUT_FORMAT} must be one of {', '.join(OUTPUT_FORMATS)}, "
                f"not {_quote(env.get(ENV_OUTPUT_FORMAT, ''))}"
            )
        output_format = env_format or "pretty"
    if output_format not in OUTPUT_FORMATS:
        raise SettingsError(
            f"--output-format must be one of {', '.join(OUTPUT_FORMATS)}, not {_quote(output_format)}"
        )

    # Credential: --api-key, then WARP_API_KEY. Empty means unset.
    api_key, api_key_source = None, None
    if flags.api_key is not None and flags.api_key.strip():
        api_key, api_key_source = flags.api_key.strip(), "--api-key"
    elif env.get(ENV_API_KEY, "").strip():
        api_key, api_key_source = env[ENV_API_KEY].strip(), ENV_API_KEY
    elif flags.api_key is not None:
        raise SettingsError("--api-key is empty")
    if api_key is not None and not _printable_ascii(api_key):
        # Never echo it: it is a secret.
        raise SettingsError(f"the API key from {api_key_source} contains characters no key has")

    # Server: --server-root-url, then WARP_SERVER_ROOT_URL, then the file.
    server: str | None = None
    if flags.server_root_url is not None:
        server = normalize_server_url(flags.server_root_url, "--server-root-url")
    elif env.get(ENV_SERVER_ROOT, "").strip():
        server = normalize_server_url(env[ENV_SERVER_ROOT], ENV_SERVER_ROOT)
    else:
        server = config.server_root_url

    data_dir: Path | None = None
    if flags.data_dir is not None:
        if not flags.data_dir.strip():
            raise SettingsError("--data-dir is empty")
        data_dir = user_path(flags.data_dir, "--data-dir")
    else:
        data_dir = config.data_dir

    request_timeout = _timeout_setting(
        flags.request_timeout, "--request-timeout", env, ENV_REQUEST_TIMEOUT,
        config.request_timeout, DEFAULT_REQUEST_TIMEOUT, MAX_REQUEST_TIMEOUT,
    )
    command_timeout = _timeout_setting(
        flags.command_timeout, "--command-timeout", env, ENV_COMMAND_TIMEOUT,
        config.command_timeout, DEFAULT_COMMAND_TIMEOUT, MAX_COMMAND_TIMEOUT,
    )

    # Client identity: OZ_KEYS_CLIENT_ID / OZ_KEYS_USER_AGENT, then the file.
    if env.get(ENV_CLIENT_ID, "").strip():
        client_id = check_header_setting(env[ENV_CLIENT_ID], ENV_CLIENT_ID)
    else:
        client_id = config.client_id or DEFAULT_CLIENT_ID
    if env.get(ENV_USER_AGENT, "").strip():
        user_agent: str | None = check_header_setting(env[ENV_USER_AGENT], ENV_USER_AGENT)
    else:
        user_agent = config.user_agent or None

    implicit_local = False
    if flags.demo:
        mode: Mode = "demo"
    elif flags.local:
        mode = "local"
    elif api_key is not None or server is not None:
        mode = "remote"
        server = server or DEFAULT_SERVER_ROOT
    else:
        mode, implicit_local = "local", True
    if mode != "remote":
        server = None

    return Settings(
        mode=mode,
        server_root_url=server,
        api_key=api_key,
        api_key_source=api_key_source,
        data_dir=data_dir,
        output_format=output_format,
        default_expiration=config.default_expiration or Expiration.DAYS_90,
        default_key_type=config.default_key_type or KeyType.PERSONAL,
        theme=config.theme,
        config_path=config.path,
        implicit_local=implicit_local,
        clipboard_clear_seconds=(
            config.clipboard_clear_seconds
            if config.clipboard_clear_seconds is not None
            else DEFAULT_CLIPBOARD_CLEAR_SECONDS
        ),
        request_timeout=request_timeout,
        command_timeout=command_timeout,
        client_id=client_id,
        user_agent=user_agent,
        keymap=dict(config.keymap or {}),
    )


def load_settings(flags: Flags, env: Mapping[str, str] | None = None) -> Settings:
    """Read the config file `env` points at (or the default one) and resolve everything."""
    env = os.environ if env is None else env
    path, explicit = config_path(env)
    return resolve(flags, env, load_config(path, required=explicit, home=env.get("HOME") or None))


def _printable_ascii(text: str) -> bool:
    return all(0x21 <= ord(char) <= 0x7E for char in text)
