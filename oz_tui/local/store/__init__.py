"""The local key store: SQLite, hashes only, safe to share between processes.

One job a file:

- `key_store`: `KeyStore`, the operations (the queries) and the transactions they run in;
- `schema`: the tables, their version, and migrating a database to this release's;
- `records`: what the store hands out (keys, agents, the local identity), the raw key's
  format and hash, and how a row is encoded (times as integer microseconds);
- `data_dir`: the data dir's hardening (treated like ~/.ssh; files created owner-only);
- `errors`: `InvalidRequest` (a rule a caller broke, its message meant for the user) and
  `LocalStoreError` (a database that cannot be used).

Callers import from here. No GraphQL, HTTP or Textual in any of them.
"""

from __future__ import annotations

from oz_tui.local.store.data_dir import check_data_dir
from oz_tui.local.store.errors import InvalidRequest, LocalStoreError, NothingWritten, StoreBusy
from oz_tui.local.store.key_store import KeyStore, validate_name
from oz_tui.local.store.records import (
    DEFAULT_AGENT_NAME,
    KEY_PREFIX,
    LOCAL_IDENTITY,
    RAW_KEY_PATTERN,
    LocalIdentity,
    StoredAgent,
    StoredKey,
    default_agent_uid,
    hash_key,
)

__all__ = [
    "DEFAULT_AGENT_NAME",
    "KEY_PREFIX",
    "LOCAL_IDENTITY",
    "RAW_KEY_PATTERN",
    "InvalidRequest",
    "KeyStore",
    "LocalIdentity",
    "LocalStoreError",
    "NothingWritten",
    "StoredAgent",
    "StoreBusy",
    "StoredKey",
    "check_data_dir",
    "default_agent_uid",
    "hash_key",
    "validate_name",
]
