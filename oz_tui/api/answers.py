"""Reading Warp's GraphQL answers: the success member of an operation's result union as typed
models, or the typed error the answer stands for. Pure functions of the decoded JSON (no I/O, no
httpx), so every malformed shape a server could send is checked here, field by field."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Callable

from oz_tui.core import errors
from oz_tui.core.models import (
    Account,
    Agent,
    ApiKey,
    CreatedKey,
    KeyScope,
    OwnerType,
    Team,
    Workspace,
    parse_time,
)
from oz_tui.api.operations import Operation
from oz_tui.core import formats
from oz_tui.core.refusals import (
    is_auth_message,
    is_unknown_user_message,
    user_facing_error,
)

#: Server-provided text put into an error message is cut to this many characters.
MAX_DETAIL = 300
#: How a server says there is no such (active) key.
_GONE = re.compile(
    r"not found|does not exist|no such (api )?key|no active (api )?key|"
    r"already (been )?(expired|deleted|revoked)",
    re.IGNORECASE,
)


def is_gone_message(message: str) -> bool:
    """Whether a server's message says the key is not there (any more)."""
    return not is_unknown_user_message(message) and _GONE.search(message) is not None


def unwrap(operation: Operation, payload: Any) -> dict[str, Any]:
    """The success member of the operation's result union, or the matching typed error."""
    if not isinstance(payload, dict):
        raise errors.ProtocolError("The server's answer is not a GraphQL response object.")
    graphql_errors = payload.get("errors")
    if graphql_errors:
        if not isinstance(graphql_errors, list):
            raise errors.ProtocolError(f"The answer to {operation.name} has malformed errors.")
        messages: list[str] = []
        codes: list[Any] = []
        for item in graphql_errors:
            message = item.get("message") if isinstance(item, dict) else item
            if isinstance(message, str) and message:
                messages.append(message)
            extensions = item.get("extensions") if isinstance(item, dict) else None
            if isinstance(extensions, dict):
                codes.append(extensions.get("code"))
        text = "; ".join(messages)[:MAX_DETAIL] or "no message"
        if any(is_unknown_user_message(m) for m in messages):
            raise errors.AccountUnavailableError()
        if "UNAUTHENTICATED" in codes or any(is_auth_message(m) for m in messages):
            raise errors.AuthenticationError(f"The server refused the credential: {text}")
        raise errors.ProtocolError(f"The server rejected {operation.name}: {text}")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise errors.ProtocolError(f"The answer to {operation.name} has no data.")
    result = data.get(operation.root_field)
    if not isinstance(result, dict):
        raise errors.ProtocolError(f"The answer to {operation.name} has no {operation.root_field}.")
    typename = result.get("__typename")
    if typename == operation.success_type:
        return result
    if typename == "UserFacingError":
        error = result.get("error")
        message = error.get("message") if isinstance(error, dict) else None
        if not isinstance(message, str):
            raise errors.ProtocolError("The server sent an error without a message.")
        raise user_facing_error(operation.name, message)
    kind = typename[:60] if isinstance(typename, str) else type(typename).__name__
    raise errors.ProtocolError(
        f"The answer to {operation.name} is of an unknown kind ({kind})."
    )


def _field(obj: Any, name: str, kind: type) -> Any:
    if not isinstance(obj, dict) or name not in obj:
        raise errors.ProtocolError(f"The server's answer lacks the field {name!r}.")
    value = obj[name]
    # bool is an int subclass; neither should pass for the other.
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise errors.ProtocolError(f"The server's field {name!r} has the wrong type.")
    return value


def _uid(obj: Any, name: str, label: str) -> str:
    """A uid field (`label`: how the refusal names it): the panel copies uids and the CLI
    suggests commands with them (core/formats)."""
    return _formatted(_field(obj, name, str), label, formats.is_uid, formats.UID_FORMAT)


def _formatted(value: str, name: str, check: Callable[[str], bool], format_: str) -> str:
    if not check(value):
        raise errors.ProtocolError(formats.refusal(name, format_))
    return value


def _optional_str(obj: dict[str, Any], name: str) -> str | None:
    value = obj.get(name)
    if value is not None and not isinstance(value, str):
        raise errors.ProtocolError(f"The server's field {name!r} has the wrong type.")
    return value


def _optional_time(obj: dict[str, Any], name: str) -> datetime | None:
    value = obj.get(name)
    if value is None:
        return None
    return _time(value, name)


def _time(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise errors.ProtocolError(f"The server's field {name!r} has the wrong type.")
    try:
        return parse_time(value)
    except (ValueError, OverflowError):  # OverflowError: e.g. year 1 moved to UTC
        raise errors.ProtocolError(f"The server's field {name!r} is not a valid time.") from None


def _parse_key(obj: Any) -> ApiKey:
    if not isinstance(obj, dict):
        raise errors.ProtocolError("The server sent a key that is not an object.")
    owner = _field(obj, "ownerType", str)
    agent = obj.get("agentInfo")
    agent_uid: str | None = None
    if agent is not None:
        scope = KeyScope.AGENT
        agent_name = _field(agent, "name", str)
        agent_uid = _optional_str(agent, "uid")
        if agent_uid is not None:
            _formatted(agent_uid, "agentInfo.uid", formats.is_uid, formats.UID_FORMAT)
    elif owner == OwnerType.USER.value:
        scope, agent_name = KeyScope.PERSONAL, None
    elif owner == OwnerType.TEAM.value:
        scope, agent_name = KeyScope.TEAM, None
    else:
        raise errors.ProtocolError(f"The server sent an unknown key owner ({owner[:40]}).")
    return ApiKey(
        uid=_uid(obj, "uid", "uid"),
        name=_field(obj, "name", str),
        key_suffix=_formatted(
            _field(obj, "keySuffix", str), "keySuffix", formats.is_key_suffix,
            formats.SUFFIX_FORMAT,
        ),
        scope=scope,
        created_at=_time(_field(obj, "createdAt", str), "createdAt"),
        last_used_at=_optional_time(obj, "lastUsedAt"),
        expires_at=_optional_time(obj, "expiresAt"),
        agent_name=agent_name,
        agent_uid=agent_uid,
    )


def parse_key_list(result: dict[str, Any]) -> list[ApiKey]:
    return [_parse_key(item) for item in _field(result, "apiKeys", list)]


def parse_created(result: dict[str, Any]) -> CreatedKey:
    # Printed unchanged (it must stay usable), copied and given to --jq: checked, never cleaned.
    raw_key = _formatted(
        _field(result, "rawApiKey", str), "rawApiKey", formats.is_raw_key, formats.RAW_KEY_FORMAT
    )
    return CreatedKey(api_key=_parse_key(_field(result, "apiKey", dict)), raw_key=raw_key)


def parse_expired(result: dict[str, Any]) -> None:
    if not _field(result, "success", bool):
        raise errors.UserFacingError("The server did not confirm that the key was deleted.")


def parse_account(user_result: dict[str, Any], workspaces_result: dict[str, Any]) -> Account:
    """An `Account` from the success members of `GetUser` and `GetWorkspacesMetadataForUser`."""
    user = _field(user_result, "user", dict)
    profile = _field(user, "profile", dict)
    owner = user_result.get("apiKeyOwnerType")
    if owner is None:
        owner_type = None
    elif isinstance(owner, str) and owner in {o.value for o in OwnerType}:
        owner_type = OwnerType(owner)
    else:
        raise errors.ProtocolError("The server sent an unknown apiKeyOwnerType.")
    workspaces = tuple(
        Workspace(
            uid=_uid(ws, "uid", "workspaces.uid"),
            name=_field(ws, "name", str),
            teams=tuple(
                Team(uid=_uid(t, "uid", "teams.uid"), name=_field(t, "name", str))
                for t in _field(ws, "teams", list)
            ),
        )
        for ws in _field(_field(workspaces_result, "user", dict), "workspaces", list)
    )
    # Optional, as Warp's client treats it: a server that leaves it out means a user.
    principal = _optional_str(user_result, "principalType") or "USER"
    return Account(
        uid=_uid(profile, "uid", "profile.uid"),
        display_name=_optional_str(profile, "displayName"),
        email=_optional_str(profile, "email"),
        workspaces=workspaces,
        api_key_owner_type=owner_type,
        principal_type=principal,
    )


def parse_agents(payload: Any) -> list[Agent]:
    """`{"agents": [{"uid", "name", "available"}]}`, the answer of `GET /api/v1/agent/identities`."""
    if not isinstance(payload, dict):
        raise errors.ProtocolError("The server's agent list is not a JSON object.")
    agents: list[Agent] = []
    for item in _field(payload, "agents", list):
        if not isinstance(item, dict):
            raise errors.ProtocolError("The server sent an agent that is not an object.")
        available = item.get("available", True)
        if not isinstance(available, bool):
            raise errors.ProtocolError("The server's field 'available' has the wrong type.")
        agents.append(
            Agent(
                uid=_uid(item, "uid", "agents.uid"),
                name=_field(item, "name", str),
                available=available,
            )
        )
    return agents
