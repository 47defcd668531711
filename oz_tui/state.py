"""What the panel remembers between runs: the theme last picked in the command palette, and
the data dirs whose local-service notice was dismissed (*Got it*).

A small JSON file in the platform's state dir (`~/.local/state/oz-keys/state.json` on Linux,
`$XDG_STATE_HOME` honoured), written 0600 in a 0700 directory. The user's config.toml is never
rewritten; a `theme` set there wins over the remembered one. Nothing secret is kept here, but
what it says is obeyed, so a state file others could change is refused like config.toml
(oz_tui/file_safety.py): the panel does not start (`check`), and a session ignores it. No Textual
here.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from oz_tui.config import APP_NAME

log = logging.getLogger(__name__)

STATE_FILENAME = "state.json"
_DISMISSED_NOTICES = "local_notice_dismissed"


def _dir_key(data_dir: Path) -> str:
    # One entry per directory, however it was spelled on the command line.
    return str(data_dir.expanduser().resolve())


def default_state_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_state_dir(APP_NAME)) / STATE_FILENAME


class PanelState:
    """The state file at `path`. Reading never fails (a missing or damaged file is empty);
    a failed write is logged and otherwise ignored: forgetting a theme must not stop the app."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def check(self) -> str | None:
        """One line saying why the state file must not be read; None when it may be (or is
        missing)."""
        from oz_tui.file_safety import trust_problem

        problem = trust_problem(self.path)
        return f"{self.path}: {problem}" if problem else None

    def _read(self) -> dict[str, object]:
        from oz_tui.file_safety import trust_problem

        try:
            with open(self.path, "rb") as file:
                problem = trust_problem(self.path, os.fstat(file.fileno()))
                if problem:
                    log.warning("ignoring the state file %s: %s", self.path, problem)
                    return {}
                data = json.loads(file.read().decode("utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("ignoring the state file %s: %s", self.path, type(exc).__name__)
            return {}
        return data if isinstance(data, dict) else {}

    def theme(self) -> str | None:
        theme = self._read().get("theme")
        return theme if isinstance(theme, str) and theme.strip() else None

    def remember_theme(self, theme: str) -> None:
        data = self._read()
        data["theme"] = theme
        try:
            self._write(data)
        except OSError as exc:
            log.warning("could not remember the theme in %s: %s", self.path, exc.strerror or exc)

    def local_notice_dismissed(self, data_dir: Path) -> bool:
        """Whether *Got it* was pressed on the local-service notice for this data dir."""
        dismissed = self._read().get(_DISMISSED_NOTICES)
        return isinstance(dismissed, list) and _dir_key(data_dir) in dismissed

    def remember_local_notice_dismissed(self, data_dir: Path) -> None:
        data = self._read()
        dismissed = data.get(_DISMISSED_NOTICES)
        dismissed = [d for d in dismissed if isinstance(d, str)] if isinstance(dismissed, list) else []
        if _dir_key(data_dir) not in dismissed:
            dismissed.append(_dir_key(data_dir))
        data[_DISMISSED_NOTICES] = dismissed
        try:
            self._write(data)
        except OSError as exc:
            log.warning("could not remember the notice in %s: %s", self.path, exc.strerror or exc)

    def _write(self, data: dict[str, object]) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                json.dump(data, file, indent=2, sort_keys=True)
                file.write("\n")
            os.chmod(temporary, 0o600)  # an existing file keeps its mode through O_CREAT
            os.replace(temporary, self.path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
