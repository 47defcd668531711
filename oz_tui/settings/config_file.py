"""Reading `config.toml`: which file, whether it may be trusted, and what it says, checked.

The file is `config.toml` in the user config dir (`~/.config/oz-keys/` on Linux,
`$XDG_CONFIG_HOME` honoured), or the file `OZ_KEYS_CONFIG` names. Its keys and their checks are
the settings table's (oz_tui/settings/table.py); docs/configuration.md shows an example of each.
No Textual and no network here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from oz_tui.settings.checks import SettingsError, user_path
from oz_tui.settings.table import APP_NAME, CONFIG_FILENAME, CONFIG_KEYS, ENV_CONFIG, FILE_SETTINGS

#: A config file larger than this is refused unread (a real one is well under 1 KB).
MAX_CONFIG_BYTES = 64 * 1024


class FileConfig(NamedTuple):
    """What `config.toml` says, checked: `values` by setting name, only those it names. Each
    setting is also an attribute: None where the file says nothing (`config.request_timeout`)."""

    path: Path | None = None
    values: Mapping[str, Any] = {}  # never changed in place

    def __getattr__(self, name: str) -> Any:
        if name in FILE_SETTINGS:
            return self.values.get(name)
        raise AttributeError(name)


def default_config_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME)) / CONFIG_FILENAME


def config_path(env: Mapping[str, str]) -> tuple[Path, bool]:
    """The config file to read, and whether it was named explicitly (by `OZ_KEYS_CONFIG`)."""
    named = env.get(ENV_CONFIG, "").strip()
    if named:
        return user_path(named, ENV_CONFIG), True
    return default_config_path(), False


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
    """The TOML document `data` of the file at `path`, each value checked by its setting."""
    unknown = sorted(set(data) - set(CONFIG_KEYS))
    if unknown:
        raise SettingsError(
            f"{path}: unknown key {unknown[0]!r}; known keys are " + ", ".join(CONFIG_KEYS)
        )
    values = {}
    for key, setting in FILE_SETTINGS.items():
        if key in data:
            assert setting.from_file is not None
            value = setting.from_file(data[key], path, key)
            if value is not None:
                values[setting.name] = value
    return FileConfig(path, values)
