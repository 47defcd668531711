"""The create and rotate flows, as screen sequences: a dialog makes the key, *Save your key* shows
its secret once, and only then is the page handed the key's properties (an `ApiKey`, no secret).
The secret goes from the dialog's result straight into *Save your key*; nothing of the page's
ever holds it, nor is it passed to the page.

Everything a flow needs is loaded before its dialog opens (`load`): never after the server made
a key. Should *Save your key* still fail to open, the key just made is expired again (nobody saw
its secret), and the panel says so in one line.
"""

from __future__ import annotations

import importlib
import logging
from datetime import datetime
from typing import Awaitable, Callable

from textual.app import App

from oz_tui.core.models import ApiKey, CreatedKey, Expiration
from oz_tui.core.display import quoted_name
from oz_tui.tui.clipboard import ClipboardClearer
from oz_tui.core.rotation import Owner
from oz_tui.tui.screens.create_key import CreateKey, CreateKeyScreen
from oz_tui.tui.screens.rotate_key import CreateReplacement, RotateKeyScreen, Rotation
from oz_tui.tui.screens import show_key

log = logging.getLogger(__name__)

#: What each flow loads before its dialog opens.
CREATE_MODULES = ("oz_tui.tui.screens.create_key", "oz_tui.tui.screens.show_key")
ROTATE_MODULES = ("oz_tui.tui.screens.rotate_key", "oz_tui.tui.screens.show_key")

TakeBack = Callable[[str], Awaitable[object]]
"""`take_back(uid)`: expires a key just made (the backend's `expire_key`)."""


def load(modules: tuple[str, ...]) -> None:
    """Import a flow's modules now; raises ImportError when one is gone or broken on disk (an
    upgrade under the running panel). Asked each time: a module loaded earlier may be gone."""
    for name in modules:
        importlib.import_module(name)


def replacement_of(old: ApiKey, create_key: CreateKey) -> CreateReplacement:
    """The rotate dialog's create: a key named like `old`, for the owner chosen."""

    async def create(owner: Owner, expiration: Expiration | datetime) -> CreatedKey:
        return await create_key(old.name, expiration, **owner.create_options())

    return create


def create_flow(
    app: App[object],
    dialog: CreateKeyScreen,
    *,
    clearer: ClipboardClearer | None,
    take_back: TakeBack,
    then: Callable[[ApiKey | None], None],
) -> None:
    """Open `dialog`; once its key was shown, `then(key)`; `then(None)` when cancelled."""

    def created(result: CreatedKey | None) -> None:
        if result is None:
            then(None)
            return
        show_once(app, result, clearer=clearer, take_back=take_back, then=then)

    app.push_screen(dialog, callback=created)


def rotate_flow(
    app: App[object],
    dialog: RotateKeyScreen,
    *,
    clearer: ClipboardClearer | None,
    take_back: TakeBack,
    then: Callable[[ApiKey, bool], None],
) -> None:
    """Open `dialog`; once the new key was shown, `then(new_key, expire_old)`."""

    def rotated(rotation: Rotation | None) -> None:
        if rotation is None:
            return
        expire_old = rotation.expire_old
        show_once(
            app, rotation.created, clearer=clearer, take_back=take_back,
            then=lambda new: then(new, expire_old),
        )

    app.push_screen(dialog, callback=rotated)


def show_once(
    app: App[object],
    created: CreatedKey,
    *,
    clearer: ClipboardClearer | None,
    take_back: TakeBack,
    then: Callable[[ApiKey], None],
) -> None:
    """*Save your key* for `created`; afterwards `then` gets only the listed key (no secret)."""
    api_key = created.api_key
    try:
        app.push_screen(
            show_key.ShowKeyScreen(created, clearer=clearer),
            # Names only `api_key`: nothing here outlives the dialog with the secret.
            callback=lambda _: then(api_key),
        )
    except Exception as error:  # noqa: BLE001 - the key must not stay active unseen
        log.error("Save your key couldn't be shown: %s", type(error).__name__)
        app.run_worker(
            _take_back(app, api_key, take_back, type(error).__name__),
            group="take-back", exit_on_error=False,
        )


async def _take_back(app: App[object], key: ApiKey, take_back: TakeBack, why: str) -> None:
    name = quoted_name(key.name)
    try:
        await take_back(key.uid)
    except Exception as error:  # noqa: BLE001 - said in one line, never a traceback
        app.notify(
            f"The new key {name} couldn't be shown ({why}) and expiring it failed "
            f"({type(error).__name__}): it is still active, delete it (d).",
            severity="error", timeout=20, markup=False,
        )
        return
    app.notify(
        f"The new key {name} couldn't be shown ({why}), so it was expired again.",
        severity="error", timeout=20, markup=False,
    )
