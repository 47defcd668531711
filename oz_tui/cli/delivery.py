"""A new key reaches someone, or it is taken back: the CLI never leaves a live key nobody got.

The secret is printed once, on stdout. If that fails (the reader went away: `| true`; stdout
closed: `>&-`; or full: `>/dev/full`) or the process is told to stop (SIGINT, SIGTERM, SIGHUP)
after the server made the key but before it was printed, `deliver_or_expire` expires the key
again and says so in one line; if that fails too, the line names the key's uid and says it is
still active. Stopped while the server had not answered yet, `create_or_explain` says the key
may have been created and how to check. Anything that shows a new secret (create, rotate) goes
through these two.

While a command runs, `SignalsCancel` turns those signals into a cancellation of the command's
task, remembering which signal it was: the command ends with one line and exit code 128 + the
signal (130 for Ctrl-C), never a traceback.
"""

from __future__ import annotations

import errno
import os
import signal
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TextIO

from oz_tui.api.deadline import outside_command_deadline
from oz_tui.core.errors import OzError
from oz_tui.core.models import CreatedKey
from oz_tui.cli.base import PROG
from oz_tui.head_start import loaded_asyncio, running_loop
from oz_tui.core.sanitize import safe_text

if TYPE_CHECKING:
    import asyncio

    from oz_tui.backend import KeyService

#: The signals that stop a command (those a terminal, a supervisor or a closed session send).
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
#: The longest the CLI waits to expire an undelivered key again (the client's own timeouts
#: bound each attempt too).
EXPIRE_AGAIN_TIMEOUT = 30.0

_signals: ContextVar[SignalsCancel | None] = ContextVar("oz_keys_signals", default=None)


class Interrupted(OzError):
    """The command was stopped by a signal. Exit code 128 + the signal's number."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.signum = signum
        self.exit_code = 128 + signum


class KeyNotDelivered(OzError):
    """A new key could not be handed over; `message` says what became of it."""


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class SignalsCancel:
    """While entered (in a running task), STOP_SIGNALS cancel that task at once, as asyncio's
    own Ctrl-C handling does; `received` says which came first. Used around a whole command by
    the CLI's entry."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.held = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> SignalsCancel:
        task = _current_task()
        loop = task.get_loop() if task is not None else None

        def on_signal(signum: int, _frame: object) -> None:
            if self.received is None:
                self.received = signum
            if self.held:
                return
            if task is None or loop is None:
                raise Interrupted(f"interrupted ({signal_name(signum)})", signum)
            task.cancel()
            loop.call_soon_threadsafe(lambda: None)  # wake the loop to deliver it

        try:
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, on_signal)
        except ValueError:  # not the main thread: leave the handlers alone
            pass
        self._token = _signals.set(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        _signals.reset(self._token)
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def interrupted(self, message: str) -> Interrupted:
        signum = self.received or signal.SIGINT
        return Interrupted(f"interrupted ({signal_name(signum)}){message}", signum)


def received_signal() -> int:
    """The stop signal this command got (SIGINT when it was cancelled some other way)."""
    current = _signals.get()
    return (current.received if current is not None else None) or signal.SIGINT


@contextmanager
def _signals_held() -> Iterator[None]:
    """While inside, stop signals are noted but don't cancel: taking a key back must finish
    (it is bounded by EXPIRE_AGAIN_TIMEOUT)."""
    current = _signals.get()
    if current is None:
        yield
        return
    current.held = True
    try:
        yield
    finally:
        current.held = False


@contextmanager
def signals_raise() -> Iterator[None]:
    """While inside, STOP_SIGNALS raise `Interrupted` at once: a write blocked on a full pipe
    never lets the event loop run, so its handlers (SignalsCancel) would wait forever."""

    def stop(signum: int, _frame: object) -> None:
        raise Interrupted(f"interrupted ({signal_name(signum)})", signum)

    previous: dict[int, object] = {}
    try:
        for signum in STOP_SIGNALS:
            previous[signum] = signal.signal(signum, stop)
    except ValueError:  # not the main thread: leave the handlers alone
        pass
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]


async def create_or_explain(create: Awaitable[CreatedKey]) -> CreatedKey:
    """The created key; a stop before the server answered becomes one line saying the key
    may exist and how to check."""
    try:
        return await create
    except (cancelled_error(), Interrupted) as stop:
        _uncancel()
        signum = stop.signum if isinstance(stop, Interrupted) else received_signal()
        raise Interrupted(
            f"interrupted ({signal_name(signum)}) before the server answered: the key may have "
            f"been created; check with '{PROG} list' and expire it with "
            f"'{PROG} expire NAME_OR_UID' if it is there",
            signum,
        ) from None


async def deliver_or_expire(
    client: KeyService,
    created: CreatedKey,
    deliver: Callable[[], None],
    stdout: TextIO,
    *,
    unchanged: str = "",
) -> None:
    """Run `deliver()` (print the secret and flush stdout). If it fails, or the command was
    stopped before it ran, expire the key again and raise `KeyNotDelivered` (or `Interrupted`)
    whose one line says so, ending with `unchanged` (what else was left alone: rotate's old
    key); if expiring fails too, the line names the uid, still active."""
    task = _current_task()
    signum: int | None = None
    if task is not None and task.cancelling():
        # Stopped after the server answered, before anything was printed.
        signum, why = received_signal(), "before the new key was printed"
    else:
        try:
            with signals_raise():
                deliver()
            return
        except Interrupted as stop:
            signum, why = stop.signum, "before the new key was printed"
        except (OSError, ValueError, AttributeError) as failure:
            why = f"couldn't print the new key: {stdout_problem(failure)}"
        _silence(stdout)
    with _signals_held():
        await _absorb_cancellation()
        message = await _expire_again(client, created, why)
    if unchanged:
        message = f"{message}; {unchanged}"
    if signum is not None:
        raise Interrupted(f"interrupted ({signal_name(signum)}) {message}", signum)
    raise KeyNotDelivered(message)


async def _expire_again(client: KeyService, created: CreatedKey, why: str) -> str:
    """Expire the undelivered key; the one line saying what became of it."""
    key = created.api_key
    named = f"'{safe_text(key.name, max_length=80)}' (uid {safe_text(key.uid)})"
    try:
        if _current_task() is None:
            await client.expire_key(key.uid)  # no event loop: the client's timeouts bound it
        else:
            import asyncio

            # Its own bound, not what the create left of the command's deadline.
            with outside_command_deadline():
                await asyncio.wait_for(client.expire_key(key.uid), EXPIRE_AGAIN_TIMEOUT)
    except Exception as error:  # noqa: BLE001 - said in the line
        reason = error.message if isinstance(error, OzError) else type(error).__name__
        return (
            f"{why}, and expiring it again failed ({safe_text(reason, max_length=120)}): "
            f"key {named} is STILL ACTIVE; expire it with '{PROG} expire {key.uid} --force'"
        )
    return f"{why}, so it was expired again: key {named} can't be used"


def stdout_problem(error: BaseException) -> str:
    """Why writing to stdout failed, in words."""
    if isinstance(error, BrokenPipeError):
        return "stdout was closed by its reader (broken pipe)"
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return "stdout is full (no space left on the device)"
    if isinstance(error, OSError) and error.errno == errno.EBADF:
        return "stdout is closed"
    if isinstance(error, (ValueError, AttributeError)):
        return "stdout is closed"
    if isinstance(error, OSError):
        return f"writing to stdout failed ({safe_text(error.strerror or type(error).__name__)})"
    return f"writing to stdout failed ({type(error).__name__})"


def _current_task() -> asyncio.Task[object] | None:
    """The running task; None without an event loop (local commands run without asyncio)."""
    loop = running_loop()
    if loop is None:
        return None
    import asyncio  # loaded already: the loop is running

    return asyncio.current_task(loop)


def cancelled_error() -> type[BaseException]:
    """asyncio's CancelledError when asyncio is loaded (else nothing raises it)."""
    aio = loaded_asyncio()
    return aio.CancelledError if aio is not None else Interrupted


def _uncancel() -> None:
    """The command handles this stop itself: clear the task's cancellation count."""
    task = _current_task()
    if task is not None:
        while task.cancelling():
            task.uncancel()


async def _absorb_cancellation() -> None:
    """Take a pending cancellation (a stop signal) here, so the next await can run."""
    task = _current_task()
    if task is None or not task.cancelling():
        return
    import asyncio  # loaded already: a task is running

    try:
        await asyncio.sleep(0)
    except asyncio.CancelledError:
        pass
    _uncancel()


def _silence(stdout: TextIO) -> None:
    """Point stdout at /dev/null: what is still buffered (maybe the key) goes nowhere, and the
    interpreter's flush at exit can't fail a second time."""
    try:
        fd = stdout.fileno()
    except (OSError, ValueError, AttributeError):
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    except OSError:
        pass
