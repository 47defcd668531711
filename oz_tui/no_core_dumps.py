"""A process that holds, or will hold, a raw key writes no core dump.

The panel (its *Save your key* dialog) and the CLI's `create` and `rotate` call
`disable_core_dumps()` before they ask for a key: a crash then cannot leave the secret in a core
file, whatever core limit the shell left (often unlimited). Two locks, as each covers what the
other may not:

- RLIMIT_CORE set to 0, soft and hard (so nothing in the process can raise it again);
- on Linux, prctl(PR_SET_DUMPABLE, 0): no core even when a core handler ignores the limit (a
  `core_pattern` pipe such as systemd-coredump or apport), and other processes of the same user
  can no longer ptrace it or read its memory through /proc.

Where a call is missing or refused (another platform, a sandbox), it is skipped silently: there
is nothing the user could do about it, and the command must still work.
"""

from __future__ import annotations

import sys

#: From <linux/prctl.h>.
PR_SET_DUMPABLE = 4


def disable_core_dumps() -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):
        pass
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_DUMPABLE, ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0),
                       ctypes.c_ulong(0))
        except (ImportError, OSError, AttributeError):
            pass
