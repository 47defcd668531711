"""The authorization table applied to the local store: who a key acts as, and each action checked.

The GraphQL service's resolvers (`service`, what `serve` runs) and the direct adapter (`direct`,
the panel's and the CLI's in-process client) both call these, so the two ways to the store
cannot disagree on who may do what. The table itself is `oz_tui.core.authorization.RULES`.

A refusal raises `InvalidRequest` with the table's reason: both paths turn it into the
`UserFacingError` the store's own refusals become, before anything is read or written for the
refused part (never a partial result). No GraphQL, HTTP or Textual here.
"""

from __future__ import annotations

from oz_tui.core.models import KeyScope, KeyType, OwnerType
from oz_tui.core import authorization as auth
from oz_tui.local.store import InvalidRequest, KeyStore, StoredKey

#: No key presented: the store's one user (the panel and CLI in process, an unguarded transport).
LOCAL_OWNER = auth.Principal(KeyScope.PERSONAL, "")


def acting_as(key: StoredKey | None) -> auth.Principal:
    """The principal a request authenticated with `key` acts as (None: the local owner)."""
    if key is None:
        return LOCAL_OWNER
    if key.agent_uid:
        return auth.Principal(KeyScope.AGENT, key.uid, key.agent_uid)
    if key.owner_type is OwnerType.TEAM:
        return auth.Principal(KeyScope.TEAM, key.uid, key.team_uid)
    return auth.Principal(KeyScope.PERSONAL, key.uid)


def principal_type(asker: auth.Principal) -> str:
    """who-am-I's `principalType`: a Team or Agent key acts as a service account."""
    return "SERVICE_ACCOUNT" if asker.scope in auth.SERVICE_ACCOUNT_SCOPES else "USER"


def require(decision: auth.Decision) -> None:
    if not decision.allowed:
        raise InvalidRequest(decision.reason)


def check_whoami(asker: auth.Principal) -> None:
    require(auth.decide(asker, auth.Action.WHO_AM_I))


def visible_keys(store: KeyStore, asker: auth.Principal) -> list[StoredKey]:
    """The active keys `asker` may list; a principal who may list none is refused, not
    answered with an empty list."""
    require(auth.decide(asker, auth.Action.LIST))
    return [key for key in store.active_keys()
            if auth.decide(asker, auth.Action.LIST, acting_as(key)).allowed]


def check_create(asker: auth.Principal, *, team_uid: str | None, agent_uid: str | None) -> None:
    key_type = KeyType.AGENT if agent_uid else KeyType.TEAM if team_uid else KeyType.PERSONAL
    require(auth.decide(asker, auth.Action.CREATE, key_type=key_type))


def check_expire(store: KeyStore, asker: auth.Principal, uid: str) -> None:
    """Refused unless `asker` may expire the active key `uid`. For an unknown uid a service
    account hears its refusal, not "not found": it learns nothing about keys it may not see."""
    target = next((key for key in store.active_keys() if key.uid == uid), None)
    if target is not None:
        require(auth.decide(asker, auth.Action.EXPIRE, acting_as(target)))
    elif asker.scope is not KeyScope.PERSONAL:
        require(auth.decide(asker, auth.Action.EXPIRE, auth.Subject(KeyScope.PERSONAL, "")))
