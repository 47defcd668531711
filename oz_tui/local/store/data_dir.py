"""The data dir's hardening: treated like ~/.ssh (owner-only, no symbolic links), created 0700
with its database 0600 whatever the umask. No SQL here."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from oz_tui.file_safety import others_can_write, owned_by_someone_else
from oz_tui.local.store.errors import LocalStoreError


def check_data_dir(db_path: Path) -> None:
    """Refuse, like ssh does with ~/.ssh, a data dir others could change, and a database path
    that leads elsewhere; each message says how to fix it."""
    data_dir = db_path.parent
    try:
        info = os.stat(data_dir)
    except FileNotFoundError:
        return  # created below, 0700
    except OSError as exc:
        raise LocalStoreError(f"cannot use the data dir {data_dir}: {exc.strerror or exc}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise LocalStoreError(f"the data dir {data_dir} is not a directory; use another --data-dir")
    if owned_by_someone_else(info):
        raise LocalStoreError(
            f"the data dir {data_dir} belongs to another user (uid {info.st_uid}); "
            "use a directory you own (--data-dir)"
        )
    if others_can_write(info):
        raise LocalStoreError(
            f"the data dir {data_dir} can be written by other users; fix it with: "
            f"chmod go-w {data_dir}"
        )
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = db_path.with_name(db_path.name + suffix)
        if path.is_symlink():
            raise LocalStoreError(
                f"{path} is a symbolic link; oz-keys keeps its database in the data dir itself: "
                "move the real file there, or point --data-dir at its directory"
            )


def prepare_files(db_path: Path) -> bool:
    """Create the data dir (0700) and the DB file (0600) before SQLite does, with its umask.

    SQLite gives the -wal and -shm files the mode of the database file, so they follow. False
    when the data dir exists but cannot be written (the store is then opened read-only).
    """
    data_dir = db_path.parent
    if not data_dir.is_dir():
        _make_dirs(data_dir)
    if not os.access(data_dir, os.W_OK):
        if not db_path.exists():
            raise LocalStoreError(
                f"the data dir {data_dir} is read-only and holds no key database yet; "
                f"make it writable (chmod u+w {data_dir}) or use another --data-dir"
            )
        return False
    try:
        os.close(os.open(db_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600))
    except OSError as exc:
        raise LocalStoreError(f"cannot open {db_path}: {exc.strerror or exc}") from None
    return True


def _make_dirs(data_dir: Path) -> None:
    """Create `data_dir` and any missing parents 0700, whatever the umask."""
    missing = []
    for path in (data_dir, *data_dir.parents):
        if path.exists():
            break
        missing.append(path)
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            pass  # another process made it meanwhile
        except OSError as exc:
            raise LocalStoreError(f"cannot create {path}: {exc.strerror or exc}") from None
        try:
            os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask
        except OSError:
            pass


def restrict_modes(db_path: Path) -> None:
    """Make an existing database owner-only: it holds key names and hashes."""
    for suffix in ("", "-wal", "-shm"):
        path = db_path.with_name(db_path.name + suffix)
        try:
            if os.stat(path).st_mode & 0o077:
                os.chmod(path, 0o600)
        except FileNotFoundError:
            pass
