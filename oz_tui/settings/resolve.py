"""Resolution: each setting from its flag, then its environment variable, then `config.toml`,
then its default (the table in oz_tui/settings/table.py says which it has), and the few that
depend on each other: the credential, and the mode it and the server choose.

No Textual and no network here. Everything a person can get wrong raises `SettingsError`, whose
message names where the value came from; the CLI prints it on one line and exits 2.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, make_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from oz_tui.core.models import Expiration, KeyType
from oz_tui.settings.checks import SettingsError, printable_ascii
from oz_tui.settings.config_file import FileConfig, config_path, load_config
from oz_tui.settings.table import (
    BY_NAME,
    DEFAULT_SERVER_ROOT,
    ENV_API_KEY,
    FLAG_SETTINGS,
    SETTINGS,
    Setting,
)

if TYPE_CHECKING:
    import argparse

Mode = Literal["remote", "local", "demo"]


def _flags_repr(flags: Any) -> str:
    def shown(setting: Setting) -> object:
        value = getattr(flags, setting.name)
        return ("<set>" if value else None) if setting.secret else value

    return "Flags(" + ", ".join(f"{s.name}={shown(s)!r}" for s in FLAG_SETTINGS) + ")"


#: The global command-line flags, one field per setting with a flag (see the table); None / False
#: where not given; values as typed, checked by `resolve`. The repr never shows the credential.
Flags = make_dataclass(
    "Flags",
    [(s.name, bool if s.is_switch else "str | None", field(default=False if s.is_switch else None))
     for s in FLAG_SETTINGS],
    frozen=True, slots=True, repr=False, namespace={"__repr__": _flags_repr},
)
Flags.__module__ = __name__


def flags_from(args: argparse.Namespace) -> Any:
    """The `Flags` an argparse result holds (a flag not given is absent from it)."""
    return Flags(**{s.name: getattr(args, s.name, False if s.is_switch else None)
                    for s in FLAG_SETTINGS})


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Everything the CLI and the panel need to start: one field per setting of the table (its
    default is the table's; tests/cli/test_config.py keeps the two in step), and what `resolve`
    works out. The repr never shows the credential."""

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
    implicit_local: bool
    #: Seconds after which a key copied to the system clipboard is cleared (if unchanged); 0: never.
    clipboard_clear_seconds: float
    #: Seconds one request attempt to a server may take (remote mode; each read and the connect
    #: are bounded by it too).
    request_timeout: float
    #: Seconds a CLI command may wait on the server in all (remote mode; every request, attempt,
    #: retry and backoff counts; a prompt between requests does not).
    command_timeout: float
    #: `X-Warp-Client-ID` on every request.
    client_id: str
    #: The User-Agent header; None sends none (as Warp's own client).
    user_agent: str | None
    #: The panel's rebound actions: {action id: keys} (oz_tui/core/keymap.py).
    keymap: Mapping[str, str]

    @property
    def credential_hint(self) -> str | None:
        return f"wk-**{self.api_key[-4:]}" if self.api_key else None


def resolve(flags: Any, env: Mapping[str, str], config: FileConfig) -> Settings:
    """Combine flags (first), environment, the config file and defaults."""
    if flags.local and flags.demo:
        raise SettingsError("--local and --demo cannot be used together")
    if (flags.local or flags.demo) and flags.server_root_url:
        which = "--local" if flags.local else "--demo"
        raise SettingsError(f"{which} and --server-root-url cannot be used together")

    # The output format first, as before the table: of two mistakes, the same one is named.
    values = {"output_format": _value(BY_NAME["output_format"], flags, env, config)}

    # Credential: --api-key, then WARP_API_KEY. Empty means unset (an empty flag too, unless
    # the variable is unset as well).
    api_key, api_key_source = None, None
    if flags.api_key is not None and flags.api_key.strip():
        api_key, api_key_source = flags.api_key.strip(), "--api-key"
    elif env.get(ENV_API_KEY, "").strip():
        api_key, api_key_source = env[ENV_API_KEY].strip(), ENV_API_KEY
    elif flags.api_key is not None:
        raise SettingsError("--api-key is empty")
    if api_key is not None and not printable_ascii(api_key):
        # Never echo it: it is a secret.
        raise SettingsError(f"the API key from {api_key_source} contains characters no key has")

    for setting in SETTINGS:
        if setting.generic and setting.name not in values:
            values[setting.name] = _value(setting, flags, env, config)

    server = values.pop("server_root_url")
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
        config_path=config.path,
        implicit_local=implicit_local,
        **values,
    )


def _value(setting: Setting, flags: Any, env: Mapping[str, str], config: FileConfig) -> Any:
    """One setting: its flag, then its variable, then the file, then its default."""
    given = getattr(flags, setting.name) if setting.flags else None
    if given is not None:
        assert setting.from_text is not None and setting.flag is not None
        return setting.from_text(given, setting.flag)
    if setting.env and env.get(setting.env, "").strip():
        assert setting.from_text is not None
        return setting.from_text(env[setting.env], setting.env)
    if setting.name in config.values:
        return config.values[setting.name]
    # A fresh copy of a mutable default (the keymap's {}).
    return dict(setting.default) if isinstance(setting.default, dict) else setting.default


def load_settings(flags: Any, env: Mapping[str, str] | None = None) -> Settings:
    """Read the config file `env` points at (or the default one) and resolve everything."""
    env = os.environ if env is None else env
    path, explicit = config_path(env)
    return resolve(flags, env, load_config(path, required=explicit, home=env.get("HOME") or None))
