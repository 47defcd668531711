"""oz-keys' GraphQL schema executed over the local store: the resolvers of its four operations.

Built from `oz_tui/api/schema.graphql` plus this service's one concrete error type, so a document
that would fail on Warp's server fails here too. What a caller may do is `permissions`' to say.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

from graphql import GraphQLError, GraphQLSchema, build_schema

from oz_tui import __version__
from oz_tui.core.models import format_time, parse_time
from oz_tui.core import authorization as auth
from oz_tui.local import permissions
from oz_tui.local.store import InvalidRequest, KeyStore, NothingWritten, StoredKey

__all__ = ["executable_schema"]

_SERVER_VERSION = f"oz-keys-local/{__version__}"


@dataclass(frozen=True, slots=True)
class _Context:
    store: KeyStore
    #: The key the request was authenticated with; None for the unauthenticated local owner.
    principal: StoredKey | None
    #: Messages go over the network: no local paths in them.
    public_errors: bool = False


def _ok(typename: str, **fields: Any) -> dict[str, Any]:
    return {"__typename": typename, "responseContext": {"serverVersion": _SERVER_VERSION}, **fields}


#: The service's own implementation of `UserFacingErrorInterface`. Warp's client schema (and so
#: oz-keys' SDL, a strict subset of it) names no concrete one; a server must have one to execute.
_ERROR_TYPE = "GenericStringObjectUserFacingError"
_SERVER_SDL = f"""
type {_ERROR_TYPE} implements UserFacingErrorInterface {{
  message: String!
}}
"""


def _user_facing(message: str) -> dict[str, Any]:
    error = {"__typename": _ERROR_TYPE, "message": message}
    return _ok("UserFacingError", error=error)


def _resolver(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """Turn `InvalidRequest`, and a write that left nothing written, into the `UserFacingError`
    member of the result union: the client can then say for sure that no key was created."""

    @functools.wraps(fn)
    def resolve(_root: object, info: Any, **args: Any) -> dict[str, Any]:
        try:
            return fn(info.context, **args)
        except InvalidRequest as exc:
            return _user_facing(str(exc))
        except NothingWritten as exc:
            return _user_facing(exc.public_message if info.context.public_errors else exc.message)

    return resolve


def _key_fields(key: StoredKey) -> dict[str, Any]:
    return {
        "uid": key.uid,
        "name": key.name,
        "keySuffix": key.key_suffix,
        "ownerType": key.owner_type.value,
        "agentInfo": (
            {"uid": key.agent_uid, "name": key.agent_name or ""} if key.agent_uid else None
        ),
        "createdAt": key.created_at,
        "lastUsedAt": key.last_used_at,
        "expiresAt": key.expires_at,
    }


# Resolver arguments carry the schema's names (`input`, `requestContext`).


def _asker(ctx: _Context) -> auth.Principal:
    return permissions.acting_as(ctx.principal)


@_resolver
def _api_keys(ctx: _Context, requestContext: dict) -> dict[str, Any]:
    keys = permissions.visible_keys(ctx.store, _asker(ctx))
    return _ok("APIKeyPropertiesOutput", apiKeys=[_key_fields(key) for key in keys])


@_resolver
def _generate_api_key(ctx: _Context, input: dict, requestContext: dict) -> dict[str, Any]:
    permissions.check_create(_asker(ctx), team_uid=input.get("teamId"),
                             agent_uid=input.get("agentUid"))
    key, raw_key = ctx.store.create_key(
        input["name"],
        team_uid=input.get("teamId"),
        agent_uid=input.get("agentUid"),
        expires_at=_parse_expiry(input.get("expiresAt")),
    )
    return _ok("GenerateApiKeyOutput", apiKey=_key_fields(key), rawApiKey=raw_key)


@_resolver
def _expire_api_key(ctx: _Context, input: dict, requestContext: dict) -> dict[str, Any]:
    permissions.check_expire(ctx.store, _asker(ctx), input["keyUID"])
    ctx.store.expire_key(input["keyUID"])
    return _ok("ExpireApiKeyOutput", success=True)


@_resolver
def _user(ctx: _Context, requestContext: dict) -> dict[str, Any]:
    permissions.check_whoami(_asker(ctx))
    me = ctx.store.identity
    user = {
        "profile": {
            "uid": me.user_uid,
            "displayName": me.display_name,
            "email": me.email,
            "photoUrl": None,
            "needsSsoLink": False,
        },
        "workspaces": [
            {
                "uid": me.workspace_uid,
                "name": me.workspace_name,
                "teams": [{"uid": team.uid, "name": team.name} for team in me.teams],
            }
        ],
    }
    owner = ctx.principal.owner_type if ctx.principal else None
    return _ok(
        "UserOutput",
        user=user,
        apiKeyOwnerType=owner.value if owner else None,
        principalType=permissions.principal_type(_asker(ctx)),
    )


def _parse_expiry(value: object) -> datetime | None:
    if value is None:
        return None
    try:
        if not isinstance(value, str):
            raise ValueError
        return parse_time(value)
    except ValueError:
        raise InvalidRequest(
            "expiresAt is not a valid RFC 3339 time with a zone, like 2030-01-31T12:00:00Z."
        ) from None


def _serialize_time(value: object) -> str:
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, str):
        return value
    raise GraphQLError(f"Time cannot represent {type(value).__name__}")


@functools.cache
def executable_schema() -> GraphQLSchema:
    """oz-keys' schema with this service's resolvers; built once per process."""
    sdl = resources.files("oz_tui.api").joinpath("schema.graphql").read_text(encoding="utf-8")
    # The SDL is our own file, checked in full by tests/api/test_operations.py (which validates every
    # document against it); not checking it again here saves a few ms on the first request.
    schema = build_schema(sdl + _SERVER_SDL, assume_valid=True, assume_valid_sdl=True)
    assert schema.query_type and schema.mutation_type
    schema.query_type.fields["apiKeys"].resolve = _api_keys
    schema.query_type.fields["user"].resolve = _user
    schema.mutation_type.fields["generateApiKey"].resolve = _generate_api_key
    schema.mutation_type.fields["expireApiKey"].resolve = _expire_api_key
    # Inputs stay as sent (resolvers check them and answer with a UserFacingError); outputs
    # are datetimes turned into RFC 3339.
    time = schema.type_map["Time"]
    time.serialize = _serialize_time  # type: ignore[union-attr]  # graphql-core 3.2
    if hasattr(time, "coerce_output_value"):
        time.coerce_output_value = _serialize_time  # type: ignore[union-attr]  # 3.3
    return schema
