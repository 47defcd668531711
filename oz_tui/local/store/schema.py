"""The store's tables, their version, and bringing a database to this release's schema.

`key_store.KeyStore` opens the connection and runs `migrate` in its own write transaction; the
queries over these tables are its.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from oz_tui.local.store.errors import LocalStoreError
from oz_tui.local.store.records import DEFAULT_AGENT_NAME, LocalIdentity, default_agent_uid

#: 1: keys; 2: agents, and agent keys.
SCHEMA_VERSION = 2

SCHEMA = """
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
SCHEMA_2 = (
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

AGENT_COLUMNS = "uid, name, team_uid, available, is_default"


#: Names the store's problems with a database ("<file> is not a usable oz-keys database: …").
Unusable = Callable[[object], LocalStoreError]


def check_readable(conn: sqlite3.Connection, read_only_dir: object, unusable: Unusable) -> None:
    """A database opened read-only (its dir cannot be written) must hold a schema this release
    can read: it cannot be migrated."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise unusable(f"it was written by a newer oz-keys (schema version {version})")
    if version == 0:
        raise LocalStoreError(
            f"{read_only_dir} is read-only and holds no key database yet; "
            f"make it writable (chmod u+w {read_only_dir}) or use another --data-dir"
        )


def is_current(conn: sqlite3.Connection, identity: LocalIdentity) -> bool:
    """The schema is this release's and every team has its default agent: opening writes
    nothing (no write lock taken, nothing to wait for while another process writes)."""
    if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
        return False
    teams = {
        row[0] for row in conn.execute("SELECT team_uid FROM agents WHERE is_default = 1")
    }
    return all(team.uid in teams for team in identity.teams)


def migrate(conn: sqlite3.Connection, identity: LocalIdentity, unusable: Unusable) -> None:
    """Bring the database to `SCHEMA_VERSION`, inside the caller's write transaction; refuses a
    newer schema and a file holding another application's tables."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise unusable(f"it was written by a newer oz-keys (schema version {version})")
    if version == 0:
        tables = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
        ).fetchone()[0]
        if tables:
            raise unusable("it holds tables of another application")
        conn.execute(SCHEMA)
    if version < 2:
        for statement in SCHEMA_2:
            conn.execute(statement)
    if version < SCHEMA_VERSION:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    # Every team has a default agent.
    conn.executemany(
        f"INSERT OR IGNORE INTO agents ({AGENT_COLUMNS}) VALUES (?, ?, ?, 1, 1)",
        [(default_agent_uid(team.uid), DEFAULT_AGENT_NAME, team.uid) for team in identity.teams],
    )
