"""The local store's directory, treated like ~/.ssh, and writes that fail.

Each refusal is one line on stderr naming the file or directory and how to fix it. Permission
checks need a process the kernel holds to them: when the suite runs as root, the read-only cases
run the CLI without the capabilities that let root write anywhere (setpriv).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_helpers import PYTHON
from oz_tui.local.store import KeyStore, LocalStoreError, NothingWritten

REPO = Path(__file__).resolve().parents[2]
NOBODY = 65534


#: Root writes anywhere (CAP_DAC_OVERRIDE); without it, it is held to the modes like anyone.
AS_ORDINARY_USER = (
    ["setpriv", "--bounding-set=-dac_override,-dac_read_search",
     "--inh-caps=-dac_override,-dac_read_search"]
    if os.getuid() == 0 else []
)
needs_permission_checks = pytest.mark.skipif(
    os.getuid() == 0 and shutil.which("setpriv") is None,
    reason="running as root without setpriv: the kernel would not refuse any write",
)


def cli(*args: str, ordinary: bool = False) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WARP_", "OZ_KEYS_"))}
    env["HOME"] = tempfile.gettempdir()
    prefix = AS_ORDINARY_USER if ordinary else []
    return subprocess.run(
        [*prefix, PYTHON, "-m", "oz_tui", *args], capture_output=True, text=True, cwd=REPO,
        env=env, timeout=60,
    )


def assert_one_line(result: subprocess.CompletedProcess, code: int, *words: str) -> None:
    assert result.returncode == code, result
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("oz-keys: "), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    for word in words:
        assert word in result.stderr, (word, result.stderr)


def make_store(data_dir: Path, *names: str) -> None:
    store = KeyStore(data_dir / "keys.db")
    for name in names:
        store.create_key(name)
    store.close()


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o730, 0o703, 0o1777])
def test_a_data_dir_others_can_write_is_refused(tmp_path: Path, mode: int, reliability: Any) -> None:
    data_dir = tmp_path / "data"
    make_store(data_dir, "kept")
    os.chmod(data_dir, mode)
    with pytest.raises(LocalStoreError, match="chmod go-w"):
        KeyStore(data_dir / "keys.db")
    result = cli("list", "--local", "--data-dir", str(data_dir))
    assert_one_line(result, 1, str(data_dir), f"chmod go-w {data_dir}")
    os.chmod(data_dir, 0o700)
    assert [k.name for k in KeyStore(data_dir / "keys.db").active_keys()] == ["kept"]
    reliability.passed("hardening", "dir-perms", "outcome", 'modes 777, 770, 730, 703, 1777: one line with chmod go-w; usable again after it')


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give the directory to another user")
@pytest.mark.parametrize("owner", [NOBODY, 4242])
def test_a_data_dir_owned_by_another_user_is_refused(tmp_path: Path, owner: int, reliability: Any) -> None:
    data_dir = tmp_path / "data"
    make_store(data_dir)
    os.chown(data_dir, owner, -1)
    result = cli("list", "--local", "--data-dir", str(data_dir))
    assert_one_line(result, 1, str(data_dir), "another user", f"uid {owner}")
    reliability.passed("hardening", "dir-owner", "outcome", 'owned by nobody and uid 4242: one line naming the owner')


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm", "-journal"])
@pytest.mark.parametrize("target", ["file", "dangling", "devnull"])
def test_a_symlinked_database_is_refused(tmp_path: Path, suffix: str, target: str, reliability: Any) -> None:
    data_dir = tmp_path / "data"
    make_store(data_dir, "kept")
    elsewhere = tmp_path / "elsewhere.db"
    elsewhere.write_bytes(b"")
    link = data_dir / f"keys.db{suffix}"
    if link.exists():
        link.unlink()
    if suffix == "":
        (data_dir / "keys.db-wal").unlink(missing_ok=True)
    destination = {"file": elsewhere, "dangling": tmp_path / "missing", "devnull": Path(os.devnull)}
    link.symlink_to(destination[target])
    result = cli("list", "--local", "--data-dir", str(data_dir))
    assert_one_line(result, 1, str(link), "symbolic link")
    assert elsewhere.read_bytes() == b""  # never written through the link
    reliability.passed("hardening", "db-symlink", "outcome", 'keys.db, -wal, -shm, -journal linked to a file, nowhere, /dev/null: one line, nothing written through')


@pytest.mark.parametrize("umask", [0o000, 0o002, 0o022, 0o077])
def test_missing_directories_are_made_owner_only_whatever_the_umask(
    tmp_path: Path, umask: int
, reliability: Any) -> None:
    data_dir = tmp_path / "a" / "b" / "data"
    previous = os.umask(umask)
    try:
        make_store(data_dir, "x")
    finally:
        os.umask(previous)
    for path in (tmp_path / "a", tmp_path / "a" / "b", data_dir):
        assert path.stat().st_mode & 0o777 == 0o700, (path, oct(path.stat().st_mode))
    assert (data_dir / "keys.db").stat().st_mode & 0o777 == 0o600
    reliability.passed("hardening", "dir-umask", "outcome", 'umask 000, 002, 022, 077: three new levels 0700, database 0600')


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A data dir with two keys that the CLI (run with `ordinary=True`) cannot write."""
    data_dir = tmp_path / "data"
    make_store(data_dir, "first", "second")
    os.chmod(data_dir, 0o500)
    try:
        yield data_dir
    finally:
        os.chmod(data_dir, 0o700)


@needs_permission_checks
def test_a_read_only_data_dir_still_lists_and_blames_the_directory(read_only_dir: Path, reliability: Any) -> None:
    data_dir = read_only_dir
    before = sorted(p.name for p in data_dir.iterdir())
    listed = cli("list", "--local", "--data-dir", str(data_dir), "--output-format", "json",
                 ordinary=True)
    assert listed.returncode == 0, listed.stderr
    assert sorted(key["name"] for key in json.loads(listed.stdout)) == ["first", "second"]
    for args, nothing_done in ((["create", "third"], "no key was created"),
                               (["expire", "first", "--force"], "no key was expired")):
        result = cli(*args, "--local", "--data-dir", str(data_dir), ordinary=True)
        assert_one_line(result, 1, f"the data dir {data_dir} is read-only", nothing_done,
                        f"chmod u+w {data_dir}")
        assert "keys.db" not in result.stderr
    assert sorted(p.name for p in data_dir.iterdir()) == before
    reliability.passed("hardening", "dir-readonly", "outcome", 'list works; create and expire: one line blaming the directory (chmod u+w), no file changed; an empty read-only dir says so')


@needs_permission_checks
def test_a_read_only_empty_dir_says_so(tmp_path: Path) -> None:
    data_dir = tmp_path / "empty"
    data_dir.mkdir(mode=0o500)
    result = cli("list", "--local", "--data-dir", str(data_dir), ordinary=True)
    assert_one_line(result, 1, f"the data dir {data_dir} is read-only", "chmod u+w")


def _fill_up(store: KeyStore) -> None:
    """Cap the database at its current size: the next page it needs is "disk full"."""
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {pages}")


def test_a_write_that_rolled_back_says_no_key_was_created(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.db")
    store.create_key("before")
    _fill_up(store)
    failures = 0
    for i in range(200):
        try:
            store.create_key(f"filler {i} " + "x" * 80)
        except NothingWritten as exc:
            failures += 1
            assert "so no key was created" in exc.message and "may have" not in exc.message
            assert "full" in exc.message and str(tmp_path) in exc.message
            assert str(tmp_path) not in exc.public_message
    assert failures > 0
    count = store.count()
    store._conn.execute("PRAGMA max_page_count = 1073741823")
    assert store.count() == count  # nothing half-written


@pytest.mark.parametrize("path", ["direct", "graphql"])
async def test_disk_full_through_the_client_is_a_definite_no(
    tmp_path: Path, path: str, reliability: Any
) -> None:
    from oz_tui.core.errors import OzError
    from oz_tui.core.models import Expiration
    from oz_tui.backend import local_backend

    backend = local_backend(tmp_path, path=path)  # type: ignore[arg-type]
    assert backend.store is not None
    _fill_up(backend.store)
    with pytest.raises(OzError) as caught:
        for i in range(200):
            await backend.client.create_key(f"filler {i} " + "x" * 80, Expiration.DAY_1)
    assert "no key was created" in caught.value.message
    assert not caught.value.may_have_succeeded and "may have" not in caught.value.message
    await backend.aclose()
    reliability.passed("hardening", "disk-full", "outcome", 'database capped at its size: “no key was created” (store, direct client, GraphQL client; never “may have been”), nothing half-written')


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("created_at", "'yesterday'"),
        ("created_at", str(2**62)),
        ("expires_at", "x'00ff'"),
        ("name", "x'deadbeef'"),
        ("owner_type", "'Robot'"),
        ("created_at", "NULL"),
    ],
)
def test_a_damaged_row_is_one_line_naming_the_file(tmp_path: Path, column: str, value: str, reliability: Any) -> None:
    data_dir = tmp_path / "data"
    make_store(data_dir, "good", "bad")
    conn = sqlite3.connect(data_dir / "keys.db")
    conn.execute("PRAGMA ignore_check_constraints = 1")
    conn.execute("PRAGMA writable_schema = 0")
    try:
        conn.execute(f"UPDATE api_keys SET {column} = {value} WHERE name = 'bad'")
    except sqlite3.IntegrityError:
        # NOT NULL holds even so: rebuild the table without it, as another tool might have.
        conn.executescript(
            "CREATE TABLE t AS SELECT * FROM api_keys; DROP TABLE api_keys; "
            "ALTER TABLE t RENAME TO api_keys;"
        )
        conn.execute(f"UPDATE api_keys SET {column} = {value} WHERE name = 'bad'")
    conn.commit()
    conn.close()
    for output_format in ("pretty", "json"):
        result = cli("list", "--local", "--data-dir", str(data_dir), "--output-format", output_format)
        assert_one_line(result, 1, str(data_dir / "keys.db"), "damaged")
    reliability.passed("hardening", "damaged-rows", "outcome", 'text time, 2^62 µs, blob time, blob name, unknown owner, NULL created_at: one line naming the file (pretty, json)')


def test_opening_a_store_another_process_is_writing_lists_at_once(tmp_path: Path) -> None:
    """`oz-keys list` while another oz-keys holds the write lock (mid-create, say): opening a
    store already at this release's schema writes nothing, so it neither waits for the lock
    nor fails when the lock outlasts the busy timeout."""
    store = KeyStore(tmp_path / "keys.db")
    store.create_key("first")
    store.close()
    writer = sqlite3.connect(tmp_path / "keys.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # held for the whole listing
    try:
        done = subprocess.run(
            [PYTHON, "-c", (
                "import sys, time\n"
                "from pathlib import Path\n"
                "from oz_tui.local.store import key_store as s\n"
                "s.BUSY_TIMEOUT_MS = 300\n"
                "start = time.monotonic()\n"
                "names = [k.name for k in s.KeyStore(Path(sys.argv[1])).active_keys()]\n"
                "print(names, round(time.monotonic() - start, 1))\n"
            ), str(tmp_path / "keys.db")],
            capture_output=True, text=True, timeout=60,
        )
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["['first']", "0.0"]
