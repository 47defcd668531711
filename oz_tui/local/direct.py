"""The embedded service without HTTP or GraphQL: `KeyService` straight over the local store.

What the panel and the CLI use when no account is configured (`--local`, `--demo`). It answers
exactly as `OzClient` does through the GraphQL service (`oz_tui.local.service`, what `serve`
exposes): the same store, validation and clock, the same typed errors with the same messages
(the store's `InvalidRequest` text, typed by `core.refusals.user_facing_error` on both paths),
and the same models. tests/cross_cutting/test_local_contract.py runs every scenario through both
and compares.

Loads no httpx, graphql-core or Starlette: only the store (SQLite) and the models. Reads run
where they are called: in WAL mode they never wait for another process, and a panel that lists
its keys without yielding paints them in its first frame. Writes may wait up to the store's busy
timeout for another process, so for the panel they run on asyncio's thread pool (the page keeps
drawing); for the CLI (`blocking=True`) in place, so a command needs no event loop at all (see
`head_start.run_inline`).

Who is asking decides what is allowed, by the same rules as the GraphQL service
(`oz_tui.local.permissions`, over the one table `oz_tui.core.authorization.RULES`): with no key
(the panel and the CLI on the local store) the store's owner; given a key (`api_key`), that
key's principal, authenticated on every call as `serve` authenticates every request.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable, TypeVar

from oz_tui.core.models import (
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
    credential_hint,
    credential_matches,
    expiry_time,
)
from oz_tui.local import permissions
from oz_tui.local.store import InvalidRequest, KeyStore, StoredKey

if TYPE_CHECKING:
    from oz_tui.core.authorization import Principal

T = TypeVar("T")

_SCOPES = {OwnerType.USER: KeyScope.PERSONAL, OwnerType.TEAM: KeyScope.TEAM}


class DirectClient:
    """`KeyService` over a `KeyStore`, in process: as the local owner (no `api_key`), or as the
    principal of `api_key`."""

    server_root: str | None = None

    def __init__(self, store: KeyStore, *, clock: Clock, blocking: bool = False,
                 api_key: str | None = None) -> None:
        self.store = store
        self.clock = clock
        self._blocking = blocking
        self._api_key = api_key

    def __repr__(self) -> str:
        return f"DirectClient(store={self.store.location!r}, credential={self.credential_hint!r})"

    @property
    def credential_hint(self) -> str | None:
        """The key these calls are signed in with, as it may be shown; None: the local owner."""
        return credential_hint(self._api_key)

    async def aclose(self) -> None:
        """Nothing to close: the backend closes the store."""

    def is_credential(self, key: ApiKey) -> bool:
        """Whether `key` is (by its suffix, as `OzClient` tells) the key in use; without one,
        no key is."""
        return credential_matches(self._api_key, key)

    async def list_keys(self) -> list[ApiKey]:
        stored = await self._call(
            "ApiKeys", lambda: permissions.visible_keys(self.store, self._asker()), write=False
        )
        return [api_key(key) for key in stored]

    async def whoami(self) -> Account:
        return await self._call("GetUser", self._account, write=False)

    async def list_agents(self) -> list[Agent]:
        # (The agent list is REST, not GraphQL: a refusal there is an HTTP error, not a
        # UserFacingError; the store refuses nothing here. As `serve`, any good key may read it.)
        def agents() -> list[Agent]:
            self._asker()
            return self.store.agents()

        return await self._call("agents", agents, write=False)

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

        def create() -> tuple[StoredKey, str]:
            permissions.check_create(self._asker(), team_uid=team_id or None, agent_uid=agent_uid)
            return self.store.create_key(
                name, team_uid=team_id or None, agent_uid=agent_uid, expires_at=expires_at
            )

        key, raw_key = await self._call("GenerateApiKey", create)
        return CreatedKey(api_key=api_key(key), raw_key=raw_key)

    async def expire_key(self, uid: str) -> None:
        def expire() -> None:
            permissions.check_expire(self.store, self._asker(), uid)
            self.store.expire_key(uid)

        await self._call("ExpireApiKey", expire)

    def _key(self) -> StoredKey | None:
        """The key these calls are signed in with, authenticated now (which records its use, as
        a served request does); None without one: the local owner."""
        if self._api_key is None:
            return None
        key = self.store.authenticate(self._api_key)
        if key is None:
            from oz_tui.core.errors import AuthenticationError
            from oz_tui.local.guard import AUTH_DETAIL

            raise AuthenticationError(f"The local key store refused the credential: {AUTH_DETAIL}.")
        return key

    def _asker(self) -> Principal:
        return permissions.acting_as(self._key())

    def _account(self) -> Account:
        key = self._key()
        asker = permissions.acting_as(key)
        permissions.check_whoami(asker)
        me = self.store.identity
        return Account(
            uid=me.user_uid,
            display_name=me.display_name,
            email=me.email,
            workspaces=(Workspace(me.workspace_uid, me.workspace_name, me.teams),),
            api_key_owner_type=key.owner_type if key else None,  # None: no key, the local owner
            principal_type=permissions.principal_type(asker),
        )

    async def _call(self, operation: str, work: Callable[[], T], *, write: bool = True) -> T:
        """Run `work` (a write off the event loop unless `blocking`) as the GraphQL `operation`
        would; the store's refusal becomes the error `OzClient` raises for the same refusal from
        the GraphQL service. `LocalStoreError` (an `OzError`) passes as it is: it names the
        file."""
        failure: Exception
        try:
            # Authenticating a key records its use: a write.
            if self._blocking or not (write or self._api_key):
                return work()
            import asyncio

            return await asyncio.to_thread(work)
        except InvalidRequest as exc:
            from oz_tui.core.refusals import user_facing_error

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
