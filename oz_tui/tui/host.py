"""What the keys page needs from the app that shows it: a typed interface, so that imports run one
way (the app imports the page; the page never imports the app). The page tells the app things
through Textual messages (`LocalServiceNotice.Dismissed`); everything it reads is here."""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, Protocol

from oz_tui.core.models import Clock, Expiration, KeyType

if TYPE_CHECKING:
    from oz_tui.backend import Backend, DeferredBackend, RemoteSession


class PanelHost(Protocol):
    """The app's settings and backend, as the page reads them (`OzKeysApp` is one)."""

    @property
    def backend(self) -> Backend | DeferredBackend | RemoteSession: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def default_expiration(self) -> Expiration: ...

    @property
    def default_key_type(self) -> KeyType: ...

    @property
    def clipboard_clear_seconds(self) -> float: ...

    @property
    def credential_source(self) -> str | None: ...

    @property
    def explain_local_service(self) -> bool: ...

    @property
    def local_zone(self) -> tzinfo | None: ...
