"""`KeyStore`: the local store's operations (its queries), on one SQLite connection shared
between threads, and the transactions they run in. Safe to share between processes.

Rules a caller can break (names, expiry, team, key uid) raise `InvalidRequest` with a message
meant for the user; a database that cannot be used raises `LocalStoreError`. The tables are
`schema`'s, the row encoding `records`', the data dir's checks `data_dir`'s.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from oz_tui.core.models import Agent, Clock, OwnerType, system_clock
from oz_tui.core.names import KeyNameError, check_name
from oz_tui.local.store.data_dir import check_data_dir, prepare_files, restrict_modes
from oz_tui.local.store.errors import InvalidRequest, LocalStoreError, NothingWritten, StoreBusy
from oz_tui.local.store.records import (
    KEY_PREFIX,
    LOCAL_IDENTITY,
    SECRET_PATTERN,
    RAW_KEY_PATTERN,
    DamagedRow,
    LocalIdentity,
    StoredAgent,
    StoredKey,
    default_token,
    hash_key,
    new_uid,
    row_to_agent,
    row_to_key,
    to_micros,
)
from oz_tui.local.store.schema import AGENT_COLUMNS, check_readable, is_current, migrate

MEMORY = ":memory:"
BUSY_TIMEOUT_MS = 10_000

_KEY_COLUMNS = (
    "uid, name, key_suffix, owner_type, team_uid, created_at, last_used_at, expires_at, "
    "revoked_at, agent_uid"
)
#: A key row with its agent's name (`k` is api_keys, `a` agents).
_SELECT_KEYS = (
    "SELECT k.uid, k.name, k.key_suffix, k.owner_type, k.team_uid, k.created_at, "
    "k.last_used_at, k.expires_at, k.revoked_at, k.agent_uid, a.name "
    "FROM api_keys AS k LEFT JOIN agents AS a ON a.uid = k.agent_uid"
)
_ACTIVE = "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)"


def validate_name(name: str) -> str:
    """The name as stored (trimmed), or `InvalidRequest` saying what is wrong with it."""
    try:
        return check_name(name)
    except KeyNameError as error:
        raise InvalidRequest(str(error)) from None


class KeyStore:
    """API keys in SQLite (`path`, or in memory when `path` is None).

    One connection guarded by a lock, usable from any thread; writes take `BEGIN IMMEDIATE` and
    wait up to `BUSY_TIMEOUT_MS` for other processes, so concurrent writers lose nothing.
    """

    def __init__(
        self,
        path: Path | None,
        *,
        clock: Clock = system_clock,
        token_factory: Callable[[], str] | None = None,
        identity: LocalIdentity = LOCAL_IDENTITY,
    ) -> None:
        self.path = path
        self.location = str(path) if path is not None else MEMORY
        self.identity = identity
        self._clock = clock
        self._token_factory = token_factory or default_token
        self._lock = threading.Lock()
        self._conn = self._open()

    # -- opening -------------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        #: Set when the data dir cannot be written: reads work, writes say why.
        self.read_only_dir: Path | None = None
        if self.path is not None:
            check_data_dir(self.path)
            if not prepare_files(self.path):
                self.read_only_dir = self.path.parent
        try:
            conn = sqlite3.connect(
                self._uri(), isolation_level=None, check_same_thread=False, timeout=0, uri=True
            )
        except sqlite3.Error as exc:
            raise self._unusable(exc) from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if self.read_only_dir is not None:
                check_readable(conn, self.read_only_dir, self._unusable)
            else:
                if self.path is not None:
                    # The first read of the file: a corrupt or foreign file fails here, before
                    # anything is written to it.
                    _enable_wal(conn)
                self._migrate(conn)
            if self.path is not None:
                # A damaged page would otherwise surface later, mid-request, as a 503; say at
                # once which file is broken. Read-only, and quick for the few MB a store holds.
                problem = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
                if problem != "ok":
                    raise self._unusable(f"it is damaged ({problem})")
                # Only now that the file is known to be ours: a foreign file is left as it was.
                if self.read_only_dir is None:
                    restrict_modes(self.path)
        except LocalStoreError:
            conn.close()
            raise
        except (sqlite3.Error, OSError) as exc:
            conn.close()
            raise self._unusable(exc) from None
        return conn

    def _uri(self) -> str:
        if self.path is None:
            return "file::memory:"
        from urllib.parse import quote

        uri = "file:" + quote(os.fsencode(self.path))  # any bytes a POSIX path may hold
        if self.read_only_dir is None:
            return uri
        # Read-only. SQLite reads a WAL database in a directory it cannot write only when its
        # -wal and -shm files exist; without them nothing can be writing it (no one can create
        # them), so it is read as immutable.
        if self.path.with_name(self.path.name + "-wal").exists():
            return uri + "?mode=ro"
        return uri + "?mode=ro&immutable=1"

    def _migrate(self, conn: sqlite3.Connection) -> None:
        if is_current(conn, self.identity):
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            migrate(conn, self.identity, self._unusable)
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise

    def _unusable(self, problem: object) -> LocalStoreError:
        return LocalStoreError(f"{self.location} is not a usable oz-keys database: {problem}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- access --------------------------------------------------------------------------------

    @contextmanager
    def _read(self, *, wait: bool = True) -> Iterator[sqlite3.Connection]:
        if not self._lock.acquire(blocking=wait):
            raise StoreBusy
        try:
            yield self._conn
        except sqlite3.Error as exc:
            raise LocalStoreError(f"{self.location}: {exc}") from None
        finally:
            self._lock.release()

    @contextmanager
    def _write(self, what: str = "the change") -> Iterator[sqlite3.Connection]:
        """A write transaction. A failure that leaves nothing written raises `NothingWritten`
        whose message ends with `nothing_done` (e.g. "no key was created")."""
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if _rollback(conn):
                    raise self._nothing_written(exc, what) from None
                raise LocalStoreError(f"{self.location}: {exc}") from None
            except BaseException:
                _rollback(conn)
                raise

    def _nothing_written(self, exc: sqlite3.Error, nothing_done: str) -> NothingWritten:
        if self.read_only_dir is not None:
            where = self.read_only_dir
            return NothingWritten(
                f"the data dir {where} is read-only, so {nothing_done} "
                f"(make it writable: chmod u+w {where})",
                f"The local key store's directory is read-only, so {nothing_done}.",
            )
        return NothingWritten(
            f"cannot write to {self.location} ({exc}), so {nothing_done}",
            f"The local key store could not save it ({exc}), so {nothing_done}.",
        )

    # -- operations ----------------------------------------------------------------------------

    def active_keys(self) -> list[StoredKey]:
        """Keys neither expired (by the injected clock) nor revoked, newest first."""
        with self._read() as conn:
            rows = conn.execute(
                f"{_SELECT_KEYS} WHERE {_ACTIVE} "
                "ORDER BY k.created_at DESC, k.uid",
                (to_micros(self._clock()),),
            ).fetchall()
        return [self._key_of(row) for row in rows]

    def _key_of(self, row: tuple) -> StoredKey:
        try:
            return row_to_key(row)
        except DamagedRow as exc:
            uid = row[0] if isinstance(row[0], str) else "?"
            raise LocalStoreError(
                f"{self.location} has a damaged key row (uid {uid[:40]}): {exc}; "
                "restore the file from a backup or remove that row"
            ) from None

    def agents(self) -> list[Agent]:
        """The agents of the caller's teams: each team's default agent first, then by name."""
        return [agent.to_agent() for agent in self._team_agents()]

    def _team_agents(self) -> list[StoredAgent]:
        teams = [team.uid for team in self.identity.teams]
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {AGENT_COLUMNS} FROM agents "
                f"WHERE team_uid IN ({', '.join('?' * len(teams))}) "
                "ORDER BY is_default DESC, name, uid",
                teams,
            ).fetchall()
        return [row_to_agent(row) for row in rows]

    def agent(self, uid: str) -> StoredAgent | None:
        """Any agent by uid, whichever team it is on."""
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {AGENT_COLUMNS} FROM agents WHERE uid = ?", (uid,)
            ).fetchone()
        return row_to_agent(row) if row else None

    def add_agent(
        self, name: str, *, team_uid: str, available: bool = True, uid: str | None = None
    ) -> StoredAgent:
        """Add a named agent to a team (any team: the caller need not be on it). An agent with
        that uid already there is kept as it is."""
        agent = StoredAgent(
            uid=uid or new_uid(), name=name, team_uid=team_uid, available=available
        )
        with self._write() as conn:
            conn.execute(
                f"INSERT OR IGNORE INTO agents ({AGENT_COLUMNS}) VALUES (?, ?, ?, ?, 0)",
                (agent.uid, agent.name, agent.team_uid, int(agent.available)),
            )
        return agent

    def _usable_agent(self, agent_uid: str) -> StoredAgent:
        """The agent an Agent key may be created for, or `InvalidRequest` saying why not."""
        agent = self.agent(agent_uid)
        if agent is None:
            raise InvalidRequest("Unknown agent: no agent has that ID.")
        if self.identity.team(agent.team_uid) is None:
            raise InvalidRequest(
                f"The agent '{agent.name}' belongs to a team you are not a member of."
            )
        if not agent.available:
            raise InvalidRequest(
                f"The agent '{agent.name}' is not available on your team's plan."
            )
        return agent

    def create_key(
        self,
        name: str,
        *,
        team_uid: str | None = None,
        agent_uid: str | None = None,
        expires_at: datetime | None = None,
    ) -> tuple[StoredKey, str]:
        """Issue a key: Personal (no ids), Team (`team_uid`) or Agent (`agent_uid`, whose team
        the key belongs to). Returns its row and the raw key, which exists nowhere else
        afterwards."""
        name = validate_name(name)
        now = self._clock()
        if expires_at is not None and expires_at <= now:
            raise InvalidRequest("The expiration time must be in the future.")
        if team_uid is not None and agent_uid is not None:
            raise InvalidRequest("A key is a team key or an agent key: set teamId or agentUid, not both.")
        agent: StoredAgent | None = None
        if agent_uid is not None:
            agent = self._usable_agent(agent_uid)
            team_uid = agent.team_uid
        elif team_uid is not None and self.identity.team(team_uid) is None:
            raise InvalidRequest("Unknown team: you are not a member of a team with that ID.")
        secret = self._token_factory()
        if not isinstance(secret, str) or not SECRET_PATTERN.fullmatch(secret):
            # Do not echo the value: it is a secret.
            raise ValueError("token_factory must return 64 lowercase hex characters")
        raw_key = KEY_PREFIX + secret
        key = StoredKey(
            uid=new_uid(),
            name=name,
            key_suffix=raw_key[-4:],
            owner_type=OwnerType.TEAM if team_uid else OwnerType.USER,
            team_uid=team_uid,
            created_at=now,
            last_used_at=None,
            expires_at=expires_at,
            revoked_at=None,
            agent_uid=agent.uid if agent else None,
            agent_name=agent.name if agent else None,
        )
        self.insert(key, hash_key(raw_key), nothing_done="no key was created")
        return key, raw_key

    def insert(self, key: StoredKey, key_hash: str, *, nothing_done: str = "nothing was stored") -> None:
        """Store a row as given, without validation; a uid that exists already is kept."""
        with self._write(nothing_done) as conn:
            conn.execute(
                f"INSERT OR IGNORE INTO api_keys ({_KEY_COLUMNS}, key_hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key.uid,
                    key.name,
                    key.key_suffix,
                    key.owner_type.value,
                    key.team_uid,
                    to_micros(key.created_at),
                    to_micros(key.last_used_at),
                    to_micros(key.expires_at),
                    to_micros(key.revoked_at),
                    key.agent_uid,
                    key_hash,
                ),
            )

    def expire_key(self, uid: str) -> None:
        """Revoke an active key now; `InvalidRequest` when there is no active key `uid`."""
        now = to_micros(self._clock())
        with self._write("no key was expired") as conn:
            changed = conn.execute(
                f"UPDATE api_keys SET revoked_at = ? WHERE uid = ? AND {_ACTIVE}",
                (now, uid, now),
            ).rowcount
        if not changed:
            raise InvalidRequest(
                "API key not found: no active key has that ID; it may have been deleted or "
                "expired already."
            )

    def authenticate(self, raw_key: str) -> StoredKey | None:
        """The active key `raw_key` is, with its last use set to now; None when there is none."""
        key = self.find_key(raw_key)
        if key is None:
            return None
        self.record_use(key.uid)
        return self.find_key(raw_key)

    def find_key(self, raw_key: str, *, wait: bool = True) -> StoredKey | None:
        """The active key `raw_key` is, or None: one indexed read, so a key nobody issued (a
        guess, a flood) never takes the write lock. With `wait` False, raises `StoreBusy` rather
        than wait for another thread (so an event loop can call it)."""
        if not RAW_KEY_PATTERN.fullmatch(raw_key):
            return None
        with self._read(wait=wait) as conn:
            row = conn.execute(
                f"{_SELECT_KEYS} WHERE k.key_hash = ? AND {_ACTIVE}",
                (hash_key(raw_key), to_micros(self._clock())),
            ).fetchone()
        return self._key_of(row) if row else None

    def record_use(self, uid: str) -> None:
        """Set the key's last use to now (not kept in a read-only data dir)."""
        if self.read_only_dir is not None:
            return
        with self._write("the last use was not recorded") as conn:
            conn.execute(
                "UPDATE api_keys SET last_used_at = ? WHERE uid = ?",
                (to_micros(self._clock()), uid),
            )

    def count(self) -> int:
        """All rows, revoked and expired ones included."""
        with self._read() as conn:
            return conn.execute("SELECT count(*) FROM api_keys").fetchone()[0]



def _rollback(conn: sqlite3.Connection) -> bool:
    """Roll back what is open; True when no transaction is left (nothing was written).

    SQLite may have rolled back already (e.g. on a full disk); the original error is kept.
    """
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass
    return not conn.in_transaction


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL (a lasting property of the file), waiting out other processes.

    The switch needs an exclusive lock and SQLite answers SQLITE_BUSY at once instead of calling
    the busy handler, so two processes opening a new database together would fail without this.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.01)

