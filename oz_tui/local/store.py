"""The local key store: SQLite, hashes only, safe to share between processes.

No GraphQL, HTTP or Textual here. Rules a caller can break (names, expiry, team, key uid) raise
`InvalidRequest` with a message meant for the user; a database that cannot be used raises
`LocalStoreError`.
"""

from __future__ import annotations

import os
import re
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import NamedTuple

from oz_tui.api.errors import OzError
from oz_tui.api.models import Agent, Clock, OwnerType, Team, system_clock
from oz_tui.core.names import KeyNameError, check_name

MEMORY = ":memory:"
#: 1: keys; 2: agents, and agent keys.
SCHEMA_VERSION = 2
BUSY_TIMEOUT_MS = 10_000

KEY_PREFIX = "wk-1."
RAW_KEY_PATTERN = re.compile(r"wk-1\.[0-9a-f]{64}")
_SECRET_PATTERN = re.compile(r"[0-9a-f]{64}")


class LocalIdentity(NamedTuple):
    """The one user of the local service, their workspace and its team."""

    user_uid: str = "local-user"
    display_name: str = "Local owner"
    email: str | None = None
    workspace_uid: str = "local-workspace"
    workspace_name: str = "Local workspace"
    teams: tuple[Team, ...] = (Team("local-team", "Local team"),)

    def team(self, uid: str) -> Team | None:
        return next((team for team in self.teams if team.uid == uid), None)


#: The name every team's default agent has in the local service.
DEFAULT_AGENT_NAME = "default-agent"


def default_agent_uid(team_uid: str) -> str:
    """The uid of a team's default agent: stable, so every store of a team agrees on it."""
    import uuid  # with hashlib, a few ms: only creating rows needs it

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"oz-keys:agent:{team_uid}:default"))


LOCAL_IDENTITY = LocalIdentity()


class LocalStoreError(OzError):
    """The local key database cannot be opened or used."""


class NothingWritten(LocalStoreError):
    """A write failed and its transaction was rolled back: the store is as it was before.

    `message` names the file (for the person at this machine); `public_message` does not (for
    a client on the network)."""

    def __init__(self, message: str, public_message: str) -> None:
        super().__init__(message)
        self.public_message = public_message


class StoreBusy(Exception):
    """Another thread is using the store right now (raised only when asked not to wait)."""


class InvalidRequest(Exception):
    """A request the service refuses; `str()` is a message for the user."""


class StoredKey(NamedTuple):
    """A key row. Holds no secret: only the last four characters of the raw key."""

    uid: str
    name: str
    key_suffix: str
    owner_type: OwnerType
    team_uid: str | None
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    #: The agent an Agent key runs as (its team is `team_uid`); None for other keys.
    agent_uid: str | None = None
    #: That agent's name, when read from the store.
    agent_name: str | None = None


class StoredAgent(NamedTuple):
    """An agent row: one of a team's cloud agents."""

    uid: str
    name: str
    team_uid: str
    available: bool = True
    is_default: bool = False

    def to_agent(self) -> Agent:
        return Agent(uid=self.uid, name=self.name, available=self.available)


def hash_key(raw_key: str) -> str:
    """What is stored instead of the key. Keys carry 256 random bits, so a plain hash suffices."""
    import hashlib  # OpenSSL's, a few ms to load: only creating and authenticating need it

    return hashlib.sha256(raw_key.encode("ascii")).hexdigest()


def _new_uid() -> str:
    import uuid

    return str(uuid.uuid4())


def validate_name(name: str) -> str:
    """The name as stored (trimmed), or `InvalidRequest` saying what is wrong with it."""
    try:
        return check_name(name)
    except KeyNameError as error:
        raise InvalidRequest(str(error)) from None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    uid          TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    key_suffix   TEXT NOT NULL,
    owner_type   TEXT NOT NULL CHECK (owner_type IN ('User', 'Team')),
    team_uid     TEXT,
    -- Times are integer microseconds since the epoch, so SQL can compare them.
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at   INTEGER,
    revoked_at   INTEGER
)
"""

#: Version 2: a team's agents, and the agent an Agent key runs as.
_SCHEMA_2 = (
    """
CREATE TABLE IF NOT EXISTS agents (
    uid        TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    team_uid   TEXT NOT NULL,
    available  INTEGER NOT NULL DEFAULT 1,
    is_default INTEGER NOT NULL DEFAULT 0
)
""",
    "ALTER TABLE api_keys ADD COLUMN agent_uid TEXT REFERENCES agents (uid)",
)

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
_AGENT_COLUMNS = "uid, name, team_uid, available, is_default"


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
        self._token_factory = token_factory or _default_token
        self._lock = threading.Lock()
        self._conn = self._open()

    # -- opening -------------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        #: Set when the data dir cannot be written: reads work, writes say why.
        self.read_only_dir: Path | None = None
        if self.path is not None:
            check_data_dir(self.path)
            if not _prepare_files(self.path):
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
                self._check_schema(conn)
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
                    _restrict_modes(self.path)
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

    def _check_schema(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise self._unusable(f"it was written by a newer oz-keys (schema version {version})")
        if version == 0:
            raise LocalStoreError(
                f"{self.read_only_dir} is read-only and holds no key database yet; "
                f"make it writable (chmod u+w {self.read_only_dir}) or use another --data-dir"
            )

    def _is_current(self, conn: sqlite3.Connection) -> bool:
        """The schema is this release's and every team has its default agent: opening writes
        nothing (no write lock taken, nothing to wait for while another process writes)."""
        if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            return False
        teams = {
            row[0] for row in conn.execute("SELECT team_uid FROM agents WHERE is_default = 1")
        }
        return all(team.uid in teams for team in self.identity.teams)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        if self._is_current(conn):
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise self._unusable(
                    f"it was written by a newer oz-keys (schema version {version})"
                )
            if version == 0:
                tables = conn.execute(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                ).fetchone()[0]
                if tables:
                    raise self._unusable("it holds tables of another application")
                conn.execute(_SCHEMA)
            if version < 2:
                for statement in _SCHEMA_2:
                    conn.execute(statement)
            if version < SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            # Every team has a default agent.
            conn.executemany(
                f"INSERT OR IGNORE INTO agents ({_AGENT_COLUMNS}) VALUES (?, ?, ?, 1, 1)",
                [
                    (default_agent_uid(team.uid), DEFAULT_AGENT_NAME, team.uid)
                    for team in self.identity.teams
                ],
            )
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
                (_to_micros(self._clock()),),
            ).fetchall()
        return [self._key_of(row) for row in rows]

    def _key_of(self, row: tuple) -> StoredKey:
        try:
            return _row_to_key(row)
        except _DamagedRow as exc:
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
                f"SELECT {_AGENT_COLUMNS} FROM agents "
                f"WHERE team_uid IN ({', '.join('?' * len(teams))}) "
                "ORDER BY is_default DESC, name, uid",
                teams,
            ).fetchall()
        return [_row_to_agent(row) for row in rows]

    def agent(self, uid: str) -> StoredAgent | None:
        """Any agent by uid, whichever team it is on."""
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_AGENT_COLUMNS} FROM agents WHERE uid = ?", (uid,)
            ).fetchone()
        return _row_to_agent(row) if row else None

    def add_agent(
        self, name: str, *, team_uid: str, available: bool = True, uid: str | None = None
    ) -> StoredAgent:
        """Add a named agent to a team (any team: the caller need not be on it). An agent with
        that uid already there is kept as it is."""
        agent = StoredAgent(
            uid=uid or _new_uid(), name=name, team_uid=team_uid, available=available
        )
        with self._write() as conn:
            conn.execute(
                f"INSERT OR IGNORE INTO agents ({_AGENT_COLUMNS}) VALUES (?, ?, ?, ?, 0)",
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
        if not isinstance(secret, str) or not _SECRET_PATTERN.fullmatch(secret):
            # Do not echo the value: it is a secret.
            raise ValueError("token_factory must return 64 lowercase hex characters")
        raw_key = KEY_PREFIX + secret
        key = StoredKey(
            uid=_new_uid(),
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
                    _to_micros(key.created_at),
                    _to_micros(key.last_used_at),
                    _to_micros(key.expires_at),
                    _to_micros(key.revoked_at),
                    key.agent_uid,
                    key_hash,
                ),
            )

    def expire_key(self, uid: str) -> None:
        """Revoke an active key now; `InvalidRequest` when there is no active key `uid`."""
        now = _to_micros(self._clock())
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
                (hash_key(raw_key), _to_micros(self._clock())),
            ).fetchone()
        return self._key_of(row) if row else None

    def record_use(self, uid: str) -> None:
        """Set the key's last use to now (not kept in a read-only data dir)."""
        if self.read_only_dir is not None:
            return
        with self._write("the last use was not recorded") as conn:
            conn.execute(
                "UPDATE api_keys SET last_used_at = ? WHERE uid = ?",
                (_to_micros(self._clock()), uid),
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


def _default_token() -> str:
    import secrets

    return secrets.token_hex(32)


def check_data_dir(db_path: Path) -> None:
    """Refuse, like ssh does with ~/.ssh, a data dir others could change, and a database path
    that leads elsewhere; each message says how to fix it."""
    data_dir = db_path.parent
    try:
        info = os.stat(data_dir)
    except FileNotFoundError:
        return  # created below, 0700
    except OSError as exc:
        raise LocalStoreError(f"cannot use the data dir {data_dir}: {exc.strerror or exc}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise LocalStoreError(f"the data dir {data_dir} is not a directory; use another --data-dir")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise LocalStoreError(
            f"the data dir {data_dir} belongs to another user (uid {info.st_uid}); "
            "use a directory you own (--data-dir)"
        )
    if info.st_mode & 0o022:
        raise LocalStoreError(
            f"the data dir {data_dir} can be written by other users; fix it with: "
            f"chmod go-w {data_dir}"
        )
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = db_path.with_name(db_path.name + suffix)
        if path.is_symlink():
            raise LocalStoreError(
                f"{path} is a symbolic link; oz-keys keeps its database in the data dir itself: "
                "move the real file there, or point --data-dir at its directory"
            )


def _prepare_files(db_path: Path) -> bool:
    """Create the data dir (0700) and the DB file (0600) before SQLite does, with its umask.

    SQLite gives the -wal and -shm files the mode of the database file, so they follow. False
    when the data dir exists but cannot be written (the store is then opened read-only).
    """
    data_dir = db_path.parent
    if not data_dir.is_dir():
        _make_dirs(data_dir)
    if not os.access(data_dir, os.W_OK):
        if not db_path.exists():
            raise LocalStoreError(
                f"the data dir {data_dir} is read-only and holds no key database yet; "
                f"make it writable (chmod u+w {data_dir}) or use another --data-dir"
            )
        return False
    try:
        os.close(os.open(db_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600))
    except OSError as exc:
        raise LocalStoreError(f"cannot open {db_path}: {exc.strerror or exc}") from None
    return True


def _make_dirs(data_dir: Path) -> None:
    """Create `data_dir` and any missing parents 0700, whatever the umask."""
    missing = []
    for path in (data_dir, *data_dir.parents):
        if path.exists():
            break
        missing.append(path)
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            pass  # another process made it meanwhile
        except OSError as exc:
            raise LocalStoreError(f"cannot create {path}: {exc.strerror or exc}") from None
        try:
            os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask
        except OSError:
            pass


def _restrict_modes(db_path: Path) -> None:
    """Make an existing database owner-only: it holds key names and hashes."""
    for suffix in ("", "-wal", "-shm"):
        path = db_path.with_name(db_path.name + suffix)
        try:
            if os.stat(path).st_mode & 0o077:
                os.chmod(path, 0o600)
        except FileNotFoundError:
            pass


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _to_micros(value: datetime | None) -> int | None:
    if value is None:
        return None
    delta = value.astimezone(timezone.utc) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_micros(value: int | None) -> datetime | None:
    return None if value is None else _EPOCH + timedelta(microseconds=value)


def _row_to_agent(row: tuple) -> StoredAgent:
    uid, name, team_uid, available, is_default = row
    return StoredAgent(
        uid=uid, name=name, team_uid=team_uid, available=bool(available), is_default=bool(is_default)
    )


class _DamagedRow(Exception):
    pass


def _row_to_key(row: tuple) -> StoredKey:
    """A row as a key; `_DamagedRow` when a column holds what oz-keys never writes there."""
    uid, name, suffix, owner, team_uid, created, last_used, expires, revoked, agent, agent_name = row
    if not all(isinstance(value, str) for value in (uid, name, suffix)):
        raise _DamagedRow("a text column holds something else")
    if any(v is not None and not isinstance(v, str) for v in (team_uid, agent, agent_name)):
        raise _DamagedRow("team_uid or an agent column is not text")
    try:
        owner_type = OwnerType(owner)
        times = [_checked_time(value) for value in (created, last_used, expires, revoked)]
    except (ValueError, TypeError, OverflowError) as exc:
        raise _DamagedRow(str(exc) or type(exc).__name__) from None
    if times[0] is None:
        raise _DamagedRow("created_at is empty")
    return StoredKey(
        uid=uid,
        name=name,
        key_suffix=suffix,
        owner_type=owner_type,
        team_uid=team_uid,
        created_at=times[0],
        last_used_at=times[1],
        expires_at=times[2],
        revoked_at=times[3],
        agent_uid=agent,
        agent_name=agent_name,
    )


def _checked_time(value: object) -> datetime | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise TypeError(f"a time column holds {type(value).__name__}")
    return _from_micros(value)
