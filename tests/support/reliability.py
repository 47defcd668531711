"""The reliability matrix: what is tried, as recorded by the tests and published in README.md.

The tests that prove a cell call `reliability.passed(table, row, column, detail, variant=...)` (a
fixture in conftest.py) once the cell's assertions have held. A run with `--reliability-report`
(`.venv/bin/pytest --reliability-report`) renders every table below from those records and writes
the result into README.md between the markers START and END, leaving the rest of the README alone
(the markers are appended at the end when missing). A cell nobody recorded, or recorded for only
some of its variants, is published as failed. tests/cross_cutting/test_reliability_readme.py fails when the
README's section lacks a table, a row or a cell, or shows a failure, so the section cannot go
stale silently: change a matrix here and the check fails until the section is regenerated.

Only ids and labels live here; the behaviour of each fault, input and check lives in the test
modules, which assert that they cover exactly these rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "docs" / "reliability.md"
START = "<!-- reliability:start -->"
END = "<!-- reliability:end -->"
COMMAND = ".venv/bin/pytest --reliability-report"

MOCK = "mock"
LOOPBACK = "loopback"

# -- the rows and columns ----------------------------------------------------------------------

#: Operation name on the wire -> what it is called in the tables.
OPERATIONS: tuple[tuple[str, str], ...] = (
    ("ApiKeys", "list"),
    ("GetUser", "who-am-I"),
    ("GenerateApiKey", "create"),
    ("ExpireApiKey", "expire"),
)

FAULTS: tuple[tuple[str, str], ...] = (
    ("refused", "Connection refused"),
    ("dns", "DNS failure"),
    ("connect-timeout", "Connect timeout"),
    ("read-timeout", "Read timeout"),
    ("http-500", "HTTP 500"),
    ("http-502", "HTTP 502"),
    ("http-503", "HTTP 503"),
    ("http-504", "HTTP 504"),
    ("http-429", "HTTP 429 + Retry-After"),
    ("http-401", "HTTP 401"),
    ("http-403", "HTTP 403"),
    ("not-json", "Body not JSON"),
    ("no-data", "JSON without `data`"),
    ("graphql-errors", "GraphQL `errors` array"),
    ("unknown-union", "Unknown union member"),
    ("missing-field", "Missing field"),
    ("mistyped-field", "Mistyped field"),
    ("huge-body", "10 MB body"),
    ("drip", "Server drips bytes"),
)

PANEL_STEPS: tuple[tuple[str, str], ...] = (
    ("ApiKeys", "refresh (list)"),
    ("GetUser", "who-am-I at open"),
    ("GenerateApiKey", "create, form open"),
    ("ExpireApiKey", "delete"),
)

HOSTILE_INPUTS: tuple[tuple[str, str], ...] = (
    ("markup", "Markup `[bold]`, `[/]`, `[link=…]`"),
    ("click", "Action markup `[@click=app.quit]`"),
    ("csi", "ANSI CSI (colour, clear screen)"),
    ("osc8", "OSC 8 hyperlink"),
    ("osc52", "OSC 52 clipboard write"),
    ("c0", "C0 controls (NUL, BEL, BS, CR, LF, TAB)"),
    ("c1", "C1 controls (CSI, OSC, NEL as U+0080–U+009F)"),
    ("bidi", "Bidi overrides and isolates"),
    ("zero-width", "Zero-width and invisible characters"),
    ("combining", "Combining-mark pile-up (Zalgo)"),
    ("wide", "Wide characters and emoji"),
    ("long", "10,000-character name"),
)

HOSTILE_SURFACES: tuple[tuple[str, str], ...] = (
    ("table", "table"),
    ("dialogs", "dialogs"),
    ("toasts", "toasts"),
    ("status", "status line + banner"),
    ("pretty", "CLI pretty"),
    ("text", "CLI text"),
    ("json", "CLI json"),
    ("ndjson", "CLI ndjson"),
    ("errors", "CLI error line"),
)

SECRET_CHECKS: tuple[tuple[str, str], ...] = (
    ("panel-flow", "Panel: create → show once → copy → close, DEBUG logging everywhere"),
    ("cli-create", "CLI `create`, DEBUG logging everywhere"),
    ("files", "Data dir (SQLite db, -wal, -shm) and config dir"),
    ("committed-pictures", "Committed snapshots and screenshots"),
    ("credential-cli", "Credential in use: CLI output and errors, every fault"),
    ("credential-panel", "Credential in use: the panel, every fault"),
    ("clipboard-clear", "System clipboard cleared after the delay if it still holds the key"),
    ("clipboard-changed", "System clipboard left alone when it holds something else"),
    ("clipboard-exit", "Pending clear done at once when the app quits"),
    ("osc52", "OSC 52 (terminal) copies"),
    ("ways-out", "Panel: every way out of *Save your key* before a copy (Esc, Done, Enter, "
                 "ctrl+q, palette Quit, any app exit)"),
    ("screenshots", "Screenshots with a key on screen (palette, `save_screenshot`, "
                    "`deliver_screenshot`)"),
    ("signals", "SIGTERM, SIGHUP, SIGQUIT with a key on screen (real pseudo-terminal)"),
    ("terminal-gone", "Panel: the terminal closed (pty master closed) at every moment: start-up, "
                      "each dialog, *Save your key*, quitting"),
    ("signals-blocked", "Panel: SIGTERM, SIGHUP while its output is blocked (nobody reads)"),
    ("upgrade-under-panel", "Panel: a dialog's code gone from disk while it runs (an upgrade)"),
    ("clipboard-argv", "System clipboard back ends (pyperclip's, each run against recording "
                       "helpers)"),
    ("cli-undelivered", "CLI `create` with stdout closed, full or a broken pipe"),
    ("cli-interrupted", "CLI `create` stopped by SIGINT or SIGTERM"),
)

STRESS: tuple[tuple[str, str], ...] = (
    ("two-writers", "Two processes create 500 keys each"),
    ("sigkill", "SIGKILL in the middle of a burst of writes"),
    ("corrupt-cli", "Corrupt database: CLI"),
    ("corrupt-panel", "Corrupt database: panel"),
    ("revoked-401", "Deleted key over the socket"),
    ("expired-401", "Expired key over the socket"),
    ("last-used", "`lastUsedAt` on use"),
    ("serve-ready", "`serve` banner only once listening"),
)

CANCEL: tuple[tuple[str, str], ...] = (
    ("first-load", "First load hangs"),
    ("refresh", "Refresh hangs"),
    ("whoami", "Who-am-I hangs at open"),
    ("create", "Create hangs (dialog pending)"),
    ("delete", "Delete hangs"),
)

HARDENING: tuple[tuple[str, str], ...] = (
    ("serve-body", "`serve`: oversized and unauthenticated bodies"),
    ("serve-media", "`serve`: bodies that are not `application/json`"),
    ("serve-host", "`serve`: a foreign Host (DNS rebinding)"),
    ("serve-graphql", "`serve`: expensive GraphQL"),
    ("serve-malformed", "`serve`: malformed input and redirect probes"),
    ("serve-slow", "`serve`: stalled and slow clients"),
    ("serve-capacity", "`serve`: 300 clients without a valid key against one with a good key"),
    ("serve-paths", "`serve`: errors over the network"),
    ("serve-remote", "`serve`: addresses beyond loopback"),
    ("dir-perms", "Data dir others can write"),
    ("dir-owner", "Data dir owned by another user"),
    ("db-symlink", "Database path is a symbolic link"),
    ("dir-umask", "New data dirs, whatever the umask"),
    ("dir-readonly", "Read-only data dir"),
    ("disk-full", "Disk full mid-write"),
    ("damaged-rows", "Damaged rows"),
    ("non-utf8", "Arguments that are not UTF-8"),
    ("time-range", "Times Python cannot represent"),
    ("bad-url", "Malformed server URLs"),
    ("tilde-user", "`~user` for a user that does not exist"),
    ("nul", "NUL in config paths"),
    ("config-file", "Config that is not a small regular file"),
    ("nested-toml", "Deeply nested TOML"),
    ("stdout-closed", "stdout closed"),
    ("stdout-purity", "stdout purity per subcommand"),
    ("property", "Generated argv and config (hypothesis)"),
    ("url-credentials", "Server URL with user:password"),
    ("proxy-loopback", "Proxy variables with a loopback server"),
    ("plain-http", "Credential over plain http"),
)

#: What a hostile server sent (tests/cross_cutting/test_hostile_server.py: the CLI against it, measured).
HOSTILE_SERVER: tuple[tuple[str, str], ...] = (
    ("gzip-gzip", "`Content-Encoding: gzip, gzip`: 256 MB of zeros packed twice (3.5 KB sent)"),
    ("deflate-gzip", "`Content-Encoding: deflate, gzip`: 256 MB packed twice"),
    ("gzip-identity-gzip", "`Content-Encoding: gzip, identity, gzip`: 256 MB packed twice"),
    ("two-headers", "`Content-Encoding: gzip` on two header lines, packed twice"),
    ("gzip-create", "`Content-Encoding: gzip, gzip` answering `create`"),
    ("gzip-bomb", "`Content-Encoding: gzip`: 1 GB of zeros (1 MB sent)"),
    ("gzip-bomb-chunked", "`Content-Encoding: gzip`: 1 GB of zeros, chunked (no length)"),
    ("deflate-bomb", "`Content-Encoding: deflate`: 1 GB of zeros (1 MB sent)"),
    ("nested-gzip", "`Content-Encoding: gzip` around an undeclared second gzip of 1 GB"),
    ("gzip-trailing", "`Content-Encoding: gzip`: a good answer, then 64 MB after the stream's "
                      "end, chunked"),
    ("empty-blocks", "`Content-Encoding: deflate`: 64 MB of empty deflate blocks, chunked"),
    ("br", "`Content-Encoding: br` (not asked for)"),
    ("zstd", "`Content-Encoding: zstd` (not asked for)"),
    ("compress", "`Content-Encoding: compress` (not asked for)"),
    ("corrupt-gzip", "`Content-Encoding: gzip` on a body that is not gzip"),
    ("truncated-gzip", "`Content-Encoding: gzip` cut off halfway"),
    ("plain", "A normal answer in gzip, in deflate, and in deflate without its zlib wrapper"),
    ("accept-encoding", "Any answer, with brotli and zstandard importable (httpx would ask for "
                        "`br`, `zstd`)"),
    ("silent", "Accepts, reads the request, never answers: list, whoami, create, expire, rotate"),
    ("trickle", "Headers, then one byte every 3 s: list, whoami, create, expire, rotate"),
    ("tls-silent", "`https://`: accepts the connection, never completes the TLS handshake"),
    ("retries", "Never answers; attempts of 0.8 s, retried (`--command-timeout 2.5`)"),
    ("retry-after", "HTTP 429 with `Retry-After: 10`, 2 s left (`--command-timeout 2`)"),
    ("across-calls", "`rotate`: the list answered after 2.5 s, the create never "
                     "(`--command-timeout 3`)"),
    ("undelivered", "`create` answered after 1.5 s of 2, into a broken pipe; expiring it "
                    "again answered after 1 s"),
    ("default", "Never answers; no timeout configured"),
    ("osc52-raw-key", "`create`: a `rawApiKey` carrying OSC 52 (`ESC ] 52 ; c ; … BEL`)"),
    ("clear-raw-key", "`rotate --jq .raw_api_key`: a `rawApiKey` carrying `ESC [ 2 J`"),
    ("title-uid", "`list -o text`: a uid carrying a title sequence (`ESC ] 0 ; … BEL`)"),
    ("c1-suffix", "`list -o json`: a `keySuffix` carrying the C1 CSI (`\\x9b`)"),
)
HOSTILE_SERVER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("did", "what the client did"),
    ("memory", "peak memory"),
    ("time", "time"),
)

ONE_COLUMN: tuple[tuple[str, str], ...] = (("outcome", "outcome"),)


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    intro: str
    row_header: str
    rows: tuple[tuple[str, str], ...]
    columns: tuple[tuple[str, str], ...]
    #: Each cell must pass in every variant (e.g. mock transport and loopback server).
    variants: tuple[str, ...] = ("",)
    #: Rows proven in fewer variants than `variants`: {row: variants}.
    row_variants: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: What the summary counts, when "<row_header>s" does not read as English.
    row_noun: str = ""

    def variants_of(self, row: str) -> tuple[str, ...]:
        return self.row_variants.get(row, self.variants)


#: The faults the panel meets on real sockets too: each takes a different path through the
#: network stack (connecting, waiting, reading). The others are well-framed answers that differ
#: only in their bytes, which the client table proves on loopback; in the panel they run through
#: the mock transport.
PANEL_LOOPBACK = ("refused", "dns", "connect-timeout", "read-timeout", "huge-body", "drip")

TABLES: tuple[Table, ...] = (
    Table(
        "client",
        "Faults: API client",
        "Each operation against each fault, through `httpx.MockTransport` (mock) and a real "
        "misbehaving HTTP server on 127.0.0.1 (loopback: tests/support/fault_server.py; a closed port, a "
        "`.invalid` name and a listener with a full backlog for the connection faults). Cell: "
        "the typed error, how many attempts were made (list, who-am-I and expire are retried; "
        "create never is) and, for create, what the error says about the key. No error text or "
        "chained exception holds the credential.",
        "fault",
        FAULTS,
        OPERATIONS,
        (MOCK, LOOPBACK),
    ),
    Table(
        "panel",
        "Faults: the panel",
        "The real `OzKeysApp`, one session per fault and transport: who-am-I fails at open "
        "(the page still loads and works), create fails with the form open (the form keeps its "
        "input and says why), delete fails (the row stays, a toast says why), then a refresh "
        "fails (a banner says why, the table keeps its last good rows; for 401 the sign-in panel "
        "replaces them) and a good refresh recovers. Nothing hangs: requests are bounded by the "
        "client's timeouts. On loopback for the faults that take different paths through the "
        "network stack; the rest differ only in the bytes of a well-framed answer (proven on "
        "loopback in the client table) and run through the mock transport here.",
        "fault",
        FAULTS,
        PANEL_STEPS,
        (MOCK, LOOPBACK),
        row_variants={fault: (MOCK,) for fault, _ in FAULTS if fault not in PANEL_LOOPBACK},
    ),
    Table(
        "cancel",
        "A hung server can be cancelled",
        "The loopback server accepts the request and never answers. The panel stays responsive "
        "and Esc stops waiting (the footer offers it only while a request is in flight).",
        "hang",
        CANCEL,
        ONE_COLUMN,
    ),
    Table(
        "cli",
        "Faults: the CLI",
        "`python -m oz_tui <command> --server-root-url http://127.0.0.1:PORT/…` in a subprocess "
        "against the loopback fault server, with `WARP_API_KEY` set (and `--request-timeout 1` "
        "for the read timeout and the drip; the default, 60 s, would take minutes). Cell: "
        "the exit code (0 ok, 1 API/network, 2 usage, 3 auth, 4 not found) with exactly one "
        "line on stderr, nothing on stdout and the credential nowhere in either; for create, "
        "the line says what the client table says about the key (“no key was created” or "
        "“may have been created”).",
        "fault",
        FAULTS,
        (("ApiKeys", "list"), ("GetUser", "whoami"), ("GenerateApiKey", "create"),
         ("ExpireApiKey", "expire --force")),
    ),
    Table(
        "hostile",
        "Hostile text",
        "Key names, account names and server messages carrying each input, shown by the panel "
        "(checked on the terminal output the app would write: no ESC, C1, bidi or zero-width "
        "character and no foreign hyperlink in it, markup shown literally, clicking it does "
        "nothing, rows one line high) and printed by every CLI format (no control character but "
        "newline and the text format's tabs; JSON escapes them and round-trips).",
        "input",
        HOSTILE_INPUTS,
        HOSTILE_SURFACES,
    ),
    Table(
        "secrets",
        "Secrets",
        "Where a new key's raw secret and the credential in use were looked for, and not found.",
        "check",
        SECRET_CHECKS,
        ONE_COLUMN,
    ),
    Table(
        "hardening",
        "Hostile clients and bad input",
        "`oz-keys serve` probed as an attacker would (in process through its ASGI layer, and over "
        "a loopback socket with raw clients), the local store's directory treated like `~/.ssh`, "
        "and inputs that used to end in a traceback. Cell: the inputs tried and what happened; "
        "every CLI failure is one line on stderr with a documented exit code.",
        "class",
        HARDENING,
        ONE_COLUMN,
    ),
    Table(
        "hostile-server",
        "Hostile server",
        "`python -m oz_tui <command> --server-root-url http://127.0.0.1:PORT` in a subprocess, "
        "with `WARP_API_KEY` set, against a loopback server that sends what the row says. Peak "
        "memory is the child's maximum resident set (RUSAGE_CHILDREN; it runs under a 1.5 GB "
        "address-space limit); time is the whole process, start-up included. Every failure is "
        "one line on stderr, exit 1, nothing on stdout.",
        "what was sent",
        HOSTILE_SERVER,
        HOSTILE_SERVER_COLUMNS,
        row_noun="hostile answers",
    ),
    Table(
        "stress",
        "The local key service under stress",
        "The embedded service on a real data dir, in subprocesses.",
        "scenario",
        STRESS,
        ONE_COLUMN,
    ),
)

TABLES_BY_KEY = {table.key: table for table in TABLES}

#: What was tried, above the folded tables.
SUMMARY = (
    f"What was tried: each of the four API operations against {len(FAULTS)} network and "
    "protocol faults (refused, DNS, timeouts, 5xx, 429, 401/403, malformed and oversized "
    "answers, a server that drips bytes), through a mock transport and a real misbehaving "
    "server on loopback; the same faults in the panel (the page keeps its last good table, "
    "a failed create keeps its form) and in the CLI (one line, a documented exit code); hung "
    f"requests cancelled from the panel; {len(HOSTILE_INPUTS)} kinds of hostile text in every "
    "place the panel and the CLI show text; every place the raw key and the credential could "
    "leak to; and the local key service under two writers, SIGKILL and a corrupt database. "
    "Each table below is folded; its summary line says whether every cell passed."
)


# -- recording ---------------------------------------------------------------------------------


class Recorder:
    """Collects passed cells during a session."""

    def __init__(self) -> None:
        # (table, row, column) -> variant -> detail
        self.cells: dict[tuple[str, str, str], dict[str, str]] = defaultdict(dict)

    def passed(self, table: str, row: str, column: str, detail: str, variant: str = "") -> None:
        spec = TABLES_BY_KEY[table]
        assert row in dict(spec.rows), (table, row)
        assert column in dict(spec.columns), (table, column)
        assert variant in spec.variants_of(row), (table, row, variant)
        self.cells[(table, row, column)][variant] = detail

    def render(self) -> str:
        parts = [
            START,
            "## Reliability",
            "",
            SUMMARY,
            "",
            f"_Generated by the test suite (`{COMMAND}`): every ✅ is a cell whose test passed in "
            "that run. Do not edit by hand; see tests/support/reliability.py._",
            "",
        ]
        for table in TABLES:
            cells = {
                (row, column): self._cell(table, row, column)
                for row, _ in table.rows
                for column, _ in table.columns
            }
            failed = sum(not cell.startswith("✅") for cell in cells.values())
            outcome = "all passed" if not failed else f"{failed} FAILED or not run"
            shape = f"{len(table.rows)} {table.row_noun or table.row_header + 's'}"
            if len(table.columns) > 1:
                shape += f" × {len(table.columns)}"
            # A folded table: the blank lines around it let Markdown render it inside <details>.
            parts += [
                "<details>",
                f"<summary>{table.title}: {shape}, {outcome}</summary>",
                "",
                f"### {table.title}",
                "",
                table.intro,
                "",
            ]
            header = [table.row_header, *(label for _, label in table.columns)]
            parts.append("| " + " | ".join(header) + " |")
            parts.append("|" + "---|" * len(header))
            for row, label in table.rows:
                row_cells = [label, *(cells[(row, column)] for column, _ in table.columns)]
                parts.append(
                    "| " + " | ".join(cell.replace("|", "\\|") for cell in row_cells) + " |"
                )
            parts += ["", "</details>", ""]
        parts.append(END)
        return "\n".join(parts)

    def _cell(self, table: Table, row: str, column: str) -> str:
        recorded = self.cells.get((table.key, row, column), {})
        variants = table.variants_of(row)
        missing = [variant for variant in variants if variant not in recorded]
        details = list(dict.fromkeys(recorded.values()))
        detail = " / ".join(details)
        if missing:
            which = ", ".join(v for v in missing if v) or "not passed"
            return f"❌ FAILED or not run ({which})" + (f"; {detail}" if detail else "")
        suffix = ""
        if len(table.variants) > 1:
            suffix = " (" + ", ".join(variants) + ")"
        return f"✅ {detail}{suffix}"


def write_readme(section: str, path: Path = README) -> None:
    """Put `section` between the markers in README.md (appending them when missing)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    start, end = text.find(START), text.find(END)
    if start != -1 and end > start:
        text = text[:start] + section + text[end + len(END):]
    else:
        text = text.rstrip("\n") + ("\n\n" if text.strip() else "") + section + "\n"
    path.write_text(text, encoding="utf-8")


def readme_section(path: Path = README) -> str | None:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    start, end = text.find(START), text.find(END)
    if start == -1 or end < start:
        return None
    return text[start : end + len(END)]
