"""Who may do what on `serve`: the one table every path consults.

No I/O, no Textual. The service, the direct adapter and the clients (panel, CLI) all read
`decide` and `RULES`, so a refusal shown before trying and a refusal from the server cannot
disagree.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import NamedTuple

from oz_tui.core.models import Account, ApiKey, KeyScope, KeyType


class Action(str, enum.Enum):
    WHO_AM_I = "who-am-I"
    LIST = "list"
    CREATE = "create"
    EXPIRE = "expire"


class Reach(str, enum.Enum):
    """Which keys (or key types) an allowed action reaches."""

    NONE = "none"
    SELF = "itself only"
    OWN_PRINCIPAL = "keys of its own principal only"
    ALL_OWNER = "all the owner's keys"
    ALL_TYPES = "every type (Personal, Team, Agent)"
    YES = "yes"


#: The table. A Personal key is the owner and manages everything; Team and Agent keys are
#: service accounts: a leaked CI key must not mint keys or lock the owner out.
RULES: dict[KeyScope, dict[Action, Reach]] = {
    KeyScope.PERSONAL: {
        Action.WHO_AM_I: Reach.YES,
        Action.LIST: Reach.ALL_OWNER,
        Action.CREATE: Reach.ALL_TYPES,
        Action.EXPIRE: Reach.ALL_OWNER,
    },
    KeyScope.TEAM: {
        Action.WHO_AM_I: Reach.YES,
        Action.LIST: Reach.OWN_PRINCIPAL,
        Action.CREATE: Reach.NONE,
        Action.EXPIRE: Reach.SELF,
    },
    KeyScope.AGENT: {
        Action.WHO_AM_I: Reach.YES,
        Action.LIST: Reach.OWN_PRINCIPAL,
        Action.CREATE: Reach.NONE,
        Action.EXPIRE: Reach.SELF,
    },
}


class Principal(NamedTuple):
    """Who is asking: the scope of the presenting key, its uid and its principal's id
    (team uid for Team keys, agent uid for Agent keys, None for the owner)."""

    scope: KeyScope
    key_uid: str
    principal_id: str | None = None


class Subject(NamedTuple):
    """The key an action reaches (for list/expire)."""

    scope: KeyScope
    key_uid: str
    principal_id: str | None = None


class Decision(NamedTuple):
    allowed: bool
    reason: str = ""


_SERVICE_ACCOUNT = "This key is a service account"
_USE_PERSONAL = "Sign in with a Personal key."


def decide(who: Principal, action: Action, subject: Subject | None = None,
           key_type: KeyType | None = None) -> Decision:
    """Whether `who` may do `action` (on `subject`, or creating `key_type`), with the reason
    a refusal shows to the user."""
    reach = RULES.get(who.scope, {}).get(action, Reach.NONE)
    if reach is Reach.NONE:
        return Decision(False, f"{_SERVICE_ACCOUNT}: it may not {action.value} keys. "
                               f"{_USE_PERSONAL}")
    if reach in (Reach.YES, Reach.ALL_OWNER, Reach.ALL_TYPES) or subject is None:
        return Decision(True)
    if reach is Reach.SELF and subject.key_uid != who.key_uid:
        return Decision(False, f"{_SERVICE_ACCOUNT}: it may {action.value} only itself. "
                               f"{_USE_PERSONAL}")
    if reach is Reach.OWN_PRINCIPAL and (subject.scope, subject.principal_id) != (
            who.scope, who.principal_id):
        return Decision(False, f"{_SERVICE_ACCOUNT}: it may {action.value} only the keys "
                               "of its own principal.")
    return Decision(True)


#: The scopes whose keys act as a service account (who-am-I's principalType SERVICE_ACCOUNT).
SERVICE_ACCOUNT_SCOPES = (KeyScope.TEAM, KeyScope.AGENT)


def own_key(keys: Iterable[ApiKey], is_credential) -> ApiKey | None:  # noqa: ANN001
    """The listed key the client is signed in with, when exactly one matches."""
    matches = [key for key in keys if is_credential(key)]
    return matches[0] if len(matches) == 1 else None


def decide_for_client(account: Account | None, signed_in_with: ApiKey | None, action: Action,
                      subject: ApiKey | None = None) -> Decision:
    """What a client (panel, CLI) may ask, known before sending, from who-am-I and (when the
    listing shows it) the key it is signed in with. Refused only when the table refuses every
    principal the credential can be; anything unknown is left to the server."""
    if account is None:
        return Decision(True)
    if account.principal_type != "SERVICE_ACCOUNT":
        scopes: tuple[KeyScope, ...] = (KeyScope.PERSONAL,)
    elif signed_in_with is not None:
        scopes = (signed_in_with.scope,)
    else:
        scopes = SERVICE_ACCOUNT_SCOPES
    uid = signed_in_with.uid if signed_in_with is not None else ""
    agent = signed_in_with.agent_uid if signed_in_with is not None else None
    # Without its own key the client can't tell "itself" from another key: ask about the
    # action alone.
    target = (Subject(subject.scope, subject.uid, subject.agent_uid)
              if subject is not None and signed_in_with is not None else None)
    decisions = [decide(Principal(scope, uid, agent), action, target) for scope in scopes]
    refused = [d for d in decisions if not d.allowed]
    return refused[0] if len(refused) == len(decisions) else Decision(True)


def rules_markdown() -> str:
    """The table as Markdown, for docs/security.md (a test keeps the doc equal to this)."""
    actions = list(Action)
    lines = ["| Key | " + " | ".join(a.value for a in actions) + " |",
             "|---|" + "---|" * len(actions)]
    for scope, row in RULES.items():
        lines.append(f"| {scope.value} | " + " | ".join(row[a].value for a in actions) + " |")
    return "\n".join(lines) + "\n"
