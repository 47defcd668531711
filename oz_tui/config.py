"""Settings: command-line flags, then environment, then `config.toml`, then defaults.

Where each part lives (oz_tui/settings/):
  table.py        every setting, declared once: name, type, config key, variable, flag, default,
                  check, help; the docs' table and the CLI's global options come from it
  checks.py       the checks a value goes through (URLs, paths, seconds, headers), SettingsError
  config_file.py  which config.toml, whether it may be trusted, what it says
  resolve.py      Flags, Settings, and combining them (`resolve`, `load_settings`)
This module names what the rest of oz-keys uses, so callers need not know that layout.
"""

from __future__ import annotations

from oz_tui.settings.checks import (
    SettingsError,
    check_header_setting,
    normalize_server_url,
    parse_seconds,
    user_path,
)
from oz_tui.settings.config_file import (
    MAX_CONFIG_BYTES,
    FileConfig,
    config_path,
    default_config_path,
    load_config,
    parse_config,
)
from oz_tui.settings.resolve import Flags, Mode, Settings, flags_from, load_settings, resolve
from oz_tui.settings.table import (
    APP_NAME,
    CONFIG_FILENAME,
    CONFIG_KEYS,
    DEFAULT_CLIPBOARD_CLEAR_SECONDS,
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_SERVER_ROOT,
    ENV_API_KEY,
    ENV_CLIENT_ID,
    ENV_COMMAND_TIMEOUT,
    ENV_CONFIG,
    ENV_OUTPUT_FORMAT,
    ENV_REQUEST_TIMEOUT,
    ENV_SERVER_ROOT,
    ENV_USER_AGENT,
    KEY_TYPES,
    MAX_CLIPBOARD_CLEAR_SECONDS,
    MAX_COMMAND_TIMEOUT,
    MAX_REQUEST_TIMEOUT,
    OUTPUT_FORMATS,
    SETTINGS,
)

__all__ = [
    "APP_NAME", "CONFIG_FILENAME", "CONFIG_KEYS", "DEFAULT_CLIPBOARD_CLEAR_SECONDS",
    "DEFAULT_COMMAND_TIMEOUT", "DEFAULT_REQUEST_TIMEOUT", "DEFAULT_SERVER_ROOT", "ENV_API_KEY",
    "ENV_CLIENT_ID", "ENV_COMMAND_TIMEOUT", "ENV_CONFIG", "ENV_OUTPUT_FORMAT",
    "ENV_REQUEST_TIMEOUT", "ENV_SERVER_ROOT", "ENV_USER_AGENT", "KEY_TYPES", "MAX_CONFIG_BYTES",
    "MAX_CLIPBOARD_CLEAR_SECONDS", "MAX_COMMAND_TIMEOUT", "MAX_REQUEST_TIMEOUT", "OUTPUT_FORMATS",
    "SETTINGS", "FileConfig", "Flags", "Mode", "Settings", "SettingsError", "check_header_setting",
    "config_path", "default_config_path", "flags_from", "load_config", "load_settings",
    "normalize_server_url", "parse_config", "parse_seconds", "resolve", "user_path",
]
