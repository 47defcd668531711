"""The embedded service without HTTP or GraphQL: `KeyService` straight over the local store.

What the panel and the CLI use when no account is configured (`--local`, `--demo`). It answers
exactly as `OzClient` does through the GraphQL service (`oz_tui.local.service`, what `serve`
exposes): the same store, validation and clock, the same typed errors with the same messages
(the store's `InvalidRequest` text, typed by `answers.user_facing_error` on both paths), and the
same models. tests/test_local_contract.py runs every scenario through both and compares.

Loads no httpx, graphql-core or Starlette: only the store (SQLite) and the models. Reads run
where they are called: in WAL mode they never wait for another process, and a panel that lists
its keys without yielding paints them in its first frame. Writes may wait up to the store's busy
timeout for another process, so for the panel they run on asyncio's thread pool (the page keeps
drawing); for the CLI (`blocking=True`) in place, so a command needs no event loop at all (see
`head_start.run_inline`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, TypeVar

from oz_tui.api.models import (
    Account,
    Agent,
    ApiKey,
    Clock,
    CreatedKey,
    Expiration,
    KeyScope,
    OwnerType,
    Workspace,
    check_key_owner,
    expiry_time,
)
from oz_tui.local.store import InvalidRequest, KeyStore, StoredKey

T = TypeVar("T")

_SCOPES = {OwnerType.USER: KeyScope.PERSONAL, OwnerType.TEAM: KeyScope.TEAM}


class DirectClient:
    """`KeyService` over a `KeyStore`, in process, as the local owner (no credential)."""

    #: No credential: the in-process service acts as the store's one user.
    credential_hint: str | None = None
    server_root: str | None = None

    def __init__(self, store: KeyStore, *, clock: Clock, blocking: bool = False) -> None:
        self.store = store
        self.clock = clock
        self._blocking = blocking

    def __repr__(self) -> str:
        return f"DirectClient(store={self.store.location!r})"

    async def aclose(self) -> None:
        """Nothing to close: the backend closes the store."""

    def is_credential(self, key: ApiKey) -> bool:
        """In process there is no credential: no key is the one in use."""
        return False

    async def list_keys(self) -> list[ApiKey]:
        stored = await self._call("ApiKeys", self.store.active_keys, write=False)
        return [api_key(key) for key in stored]

    async def whoami(self) -> Account:
        return await self._call("GetUser", self._account, write=False)

    async def list_agents(self) -> list[Agent]:
        # (The agent list is REST, not GraphQL: a refusal there is an HTTP error, not a
        # UserFacingError; the store refuses nothing here.)
        return await self._call("agents", self.store.agents, write=False)

    async def create_key(
        self,
        name: str,
        expiration: Expiration | datetime,
        *,
        team_id: str | None = None,
        agent_uid: str | None = None,
    ) -> CreatedKey:
        # As `OzClient` does: the same checks, the expiry from the caller's clock; an empty team
        # id is none.
        check_key_owner(team_id, agent_uid)
        expires_at = expiry_time(expiration, self.clock())

        key, raw_key = await self._call(
            "GenerateApiKey",
            lambda: self.store.create_key(
                name, team_uid=team_id or None, agent_uid=agent_uid, expires_at=expires_at
            ),
        )
        return CreatedKey(api_key=api_key(key), raw_key=raw_key)

    async def expire_key(self, uid: str) -> None:
        await self._call("ExpireApiKey", lambda: self.store.expire_key(uid))

    def _account(self) -> Account:
        me = self.store.identity
        return Account(
            uid=me.user_uid,
            display_name=me.display_name,
            email=me.email,
            workspaces=(Workspace(me.workspace_uid, me.workspace_name, me.teams),),
            api_key_owner_type=None,  # no key: the local owner
            principal_type="USER",
        )

    async def _call(self, operation: str, work: Callable[[], T], *, write: bool = True) -> T:
        """Run `work` (a write off the event loop unless `blocking`) as the GraphQL `operation`
        would; the store's refusal becomes the error `OzClient` raises for the same refusal from
        the GraphQL service. `LocalStoreError` (an `OzError`) passes as it is: it names the
        file."""
        failure: Exception
        try:
            if self._blocking or not write:
                return work()
            import asyncio

            return await asyncio.to_thread(work)
        except InvalidRequest as exc:
            from oz_tui.api.answers import user_facing_error

            failure = user_facing_error(operation, str(exc))
        raise failure


def api_key(key: StoredKey) -> ApiKey:
    """A stored row as `OzClient` reads it from the GraphQL service (times in UTC; an Agent key
    by its agent, whatever its owner)."""
    agent = key.agent_uid is not None
    return ApiKey(
        uid=key.uid,
        name=key.name,
        key_suffix=key.key_suffix,
        scope=KeyScope.AGENT if agent else _SCOPES[key.owner_type],
        created_at=_utc(key.created_at),
        last_used_at=_utc(key.last_used_at),
        expires_at=_utc(key.expires_at),
        agent_name=(key.agent_name or "") if agent else None,
        agent_uid=key.agent_uid,
    )


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(timezone.utc)
