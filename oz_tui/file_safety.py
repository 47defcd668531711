"""Whether a file or directory can be trusted: the one rule, as ssh applies it to ~/.ssh/config.

A file oz-keys takes settings or commands from (config.toml, the panel's state.json) decides where
`WARP_API_KEY` is sent, so anyone who can change it can have the credential. It is trusted only
when it is yours and no one else can write it, and no one else can change which file its path
leads to: every directory its path is looked up in, following every symbolic link, is yours or
root's and writable by no one else (home itself included; the directories on the way to home
are the system's, as ssh leaves them).
A sticky directory (like /tmp) on the way may be writable by all as long as the entry looked up
in it is yours or root's (no one else can rename or remove it there); the one holding the file
may not, as with the data dir.

The local store's data dir uses the same two tests (`others_can_write`, `owned_by_someone_else`).
No Textual, no network; only `os.stat` calls.
"""

from __future__ import annotations

import os
import stat

#: Links followed before giving up (Linux's own limit).
MAX_LINKS = 40


def others_can_write(info: os.stat_result) -> bool:
    """The group or everyone may write it."""
    return bool(info.st_mode & 0o022)


def owned_by_someone_else(info: os.stat_result) -> bool:
    """It belongs to another user than the one running oz-keys."""
    return hasattr(os, "getuid") and info.st_uid != os.getuid()


def _yours_or_roots(info: os.stat_result) -> bool:
    return not owned_by_someone_else(info) or info.st_uid == 0


def trust_problem(path: os.PathLike[str] | str, opened: os.stat_result | None = None,
                  *, home: str | None = None) -> str | None:
    """Why the file at `path` must not be trusted, as the end of a sentence beginning with the
    path; None when it can be (or when it does not exist). `opened`: `os.fstat` of the file as it
    was opened, so the verdict is about the file actually read."""
    if not hasattr(os, "getuid"):
        return None  # Windows: no POSIX owners or modes to check
    home = os.path.expanduser("~") if home is None else home
    named = os.path.abspath(os.fspath(path))
    try:
        real, problem = _resolve(named, os.path.realpath(home) if home else "")
    except OSError as exc:
        return f"cannot check it: {exc.strerror or exc}"
    if problem:
        return problem
    if real is None:
        return None  # missing: nothing to trust
    link = f" (a link to {real})" if real != named else ""
    try:
        info = os.stat(real)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot check it: {exc.strerror or exc}"
    if opened is not None and (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
        return "changed while it was being read; try again"
    if owned_by_someone_else(info):
        return (f"belongs to another user (uid {info.st_uid}){link}; oz-keys reads settings only "
                "from a file you own")
    if others_can_write(info):
        return (f"can be written by other users (mode {stat.S_IMODE(info.st_mode):04o}){link}; "
                f"fix it with: chmod go-w {real}")
    return None


def _resolve(named: str, real_home: str) -> tuple[str | None, str | None]:
    """(the real path, None) after checking each directory `named` is looked up in; (None, None)
    when something on the way is missing; (None, why) for a directory others could change."""
    pending = named.split(os.sep)[::-1]
    current = os.sep
    links = 0
    while pending:
        name = pending.pop()
        if name in ("", "."):
            continue
        if name == "..":
            current = os.path.dirname(current)  # `current` has no links in it: this is its parent
            continue
        entry = os.path.join(current, name)
        try:
            entry_info = os.lstat(entry)
        except (FileNotFoundError, NotADirectoryError):
            return None, None
        # The directory holding the file (or a link to it) is held to the letter, sticky or not.
        problem = _directory_problem(current, entry, entry_info, real_home, holds=not pending)
        if problem:
            return None, problem
        if stat.S_ISLNK(entry_info.st_mode):
            links += 1
            if links > MAX_LINKS:
                return None, f"has more than {MAX_LINKS} symbolic links on its way"
            target = os.readlink(entry)
            if os.path.isabs(target):
                current = os.sep
            pending.extend(target.split(os.sep)[::-1])
        else:
            current = entry
    return current, None


def _directory_problem(directory: str, entry: str, entry_info: os.stat_result,
                       real_home: str, *, holds: bool) -> str | None:
    """Why others could change what `entry` in `directory` is; None when they cannot."""
    if real_home == entry or real_home.startswith(entry.rstrip(os.sep) + os.sep):
        return None  # the way to the home directory: the system's, as ssh leaves it
    info = os.stat(directory)
    if not _yours_or_roots(info):
        return f"the directory {directory} belongs to another user (uid {info.st_uid})"
    sticky = not holds and info.st_mode & stat.S_ISVTX and _yours_or_roots(entry_info)
    if others_can_write(info) and not sticky:
        return (f"the directory {directory} can be written by other users "
                f"(mode {stat.S_IMODE(info.st_mode):04o}); fix it with: chmod go-w {directory}")
    return None
