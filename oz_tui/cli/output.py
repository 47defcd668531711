"""How the subcommands print: pretty | json | ndjson | text. No Textual, no network.

Rules: results go to stdout, notes, prompts and errors to stderr; a raw key only ever goes to
stdout. Untrusted strings (names, server messages) pass through `safe_text` in pretty and text
output; JSON is written with `ensure_ascii=True`, so control and bidi characters arrive escaped.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO

from oz_tui.core.errors import OzError
from oz_tui.core.models import Account, ApiKey, CreatedKey
from oz_tui.cli.base import PROG
from oz_tui.cli.jq_filter import JqError, JqFilter
from oz_tui.core.display import date_label, expiring_soon, relative_time
from oz_tui.core.sanitize import safe_text

if TYPE_CHECKING:
    from oz_tui.core.audit import AuditPolicy, Finding

#: Names longer than this are cut in the pretty table (never in json/ndjson/text).
NAME_COLUMN_MAX = 40


def dumps(obj: Any, *, pretty: bool) -> str:
    import json  # only the json and ndjson formats need it

    if pretty:
        return json.dumps(obj, ensure_ascii=True, indent=2)
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":"))


def display_width(text: str) -> int:
    """Terminal columns `text` takes: wide East Asian characters 2, combining marks 0."""
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def table(header: Sequence[str], rows: Iterable[Sequence[str]], *, gap: int = 2) -> list[str]:
    """Left-aligned columns; the last column is not padded."""
    rows = [list(row) for row in rows]
    widths = [display_width(cell) for cell in header]
    for row in rows:
        widths = [max(w, display_width(cell)) for w, cell in zip(widths, row)]
    lines = []
    for row in [list(header), *rows]:
        cells = [
            cell + " " * (widths[i] - display_width(cell)) if i < len(row) - 1 else cell
            for i, cell in enumerate(row)
        ]
        lines.append((" " * gap).join(cells).rstrip())
    return lines


#: `audit --output-format text` columns.
AUDIT_TEXT_HEADER = ("UID", "Name", "Key", "Reasons", "Details")

#: `--output-format text` list columns, as Warp's CLI writes them.
TEXT_HEADER = ("UID", "Name", "Key", "Scope", "Created", "Last Used", "Expires At")


def text_time(value: datetime | None) -> str:
    """An exact time in the `text` format's layout: `2026-11-26 12:00:00 UTC`, or Never."""
    if value is None:
        return "Never"
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


class ExpireResult(NamedTuple):
    """One key of an `expire`: expired, declined, or failed with `error`."""

    key: ApiKey
    expired: bool
    error: OzError | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"key_uid": self.key.uid, "expired": self.expired}
        if self.error is not None:
            doc["error"] = self.error.message
        return doc


@dataclass
class Output:
    """Writes one command's results in the chosen format (or through `--jq`)."""

    format: str
    stdout: TextIO
    stderr: TextIO
    jq: JqFilter | None = None

    @property
    def is_json(self) -> bool:
        return self.jq is not None or self.format in ("json", "ndjson")

    # -- plumbing ------------------------------------------------------------------------------

    def out(self, line: str = "") -> None:
        self.stdout.write(line + "\n")

    def note(self, text: str) -> None:
        """A message for the person (stderr), in every format: stdout stays machine-readable."""
        self.stderr.write(text + "\n")
        self.stderr.flush()

    def document(self, obj: Any) -> None:
        """A JSON result as Warp's CLI lays it out: `json` writes a list compact on one line and
        an object indented by two; `ndjson` one compact value per line (a list's items)."""
        if self.jq is not None:
            for value in self.jq.apply(obj):
                self.out(self.jq.render(value))
        elif self.format == "ndjson":
            for item in obj if isinstance(obj, list) else [obj]:
                self.out(dumps(item, pretty=False))
        else:
            self.out(dumps(obj, pretty=not isinstance(obj, list)))

    # -- list ------------------------------------------------------------------------------

    def keys(self, keys: Sequence[ApiKey], now: datetime) -> None:
        if self.is_json:
            self.document([key.to_json() for key in keys])
        elif self.format == "text":
            rows = (
                (
                    safe_text(key.uid),
                    safe_text(key.name),
                    safe_text(key.masked),
                    key.owner_scope,
                    relative_time(key.created_at, now),
                    relative_time(key.last_used_at, now),
                    text_time(key.expires_at),
                )
                for key in keys
            )
            for row in (TEXT_HEADER, *rows):
                self.out("\t".join(row))
        elif not keys:
            self.note("No API keys. Create one with: oz-keys create NAME")
        else:
            rows = [
                (
                    safe_text(key.name, max_length=NAME_COLUMN_MAX),
                    safe_text(key.masked),
                    key.scope.value,
                    relative_time(key.created_at, now),
                    relative_time(key.last_used_at, now),
                    _expires(key.expires_at, now),
                    safe_text(key.uid),
                )
                for key in keys
            ]
            header = ("NAME", "KEY", "SCOPE", "CREATED", "LAST USED", "EXPIRES AT", "UID")
            for line in table(header, rows):
                self.out(line)

    # -- create ------------------------------------------------------------------------------

    def created(self, created: CreatedKey) -> None:
        key = created.api_key
        if self.jq is not None:
            try:
                values = self.jq.apply(created.to_json())
            except JqError:
                # The key exists now and is shown only here: never lose it to a filter.
                self.out(dumps(created.to_json(), pretty=True))
                raise
            for value in values:
                self.out(self.jq.render(value))
            # Asked of what the filter gave, not of how it was written: JSON escapes a key's
            # `"` and `\`, so the written text need not hold the key as it is.
            if not any(_holds(value, created.raw_key) for value in values):
                self.note(
                    f"oz-keys: note: --jq left out the raw key; '{safe_text(key.name)}' "
                    f"(uid {safe_text(key.uid)}) is active and its secret can't be shown again"
                )
            return
        if self.is_json:
            self.document(created.to_json())
            return
        # pretty and text: stdout holds the raw key and nothing else.
        self.out(created.raw_key)
        self.stdout.flush()
        if self.format == "pretty":
            expires = (
                "never expires"
                if key.expires_at is None
                else f"expires {date_label(key.expires_at)}"
            )
            self.note(
                f"Created {key.scope.value.lower()} API key '{safe_text(key.name)}' "
                f"({safe_text(key.masked)}, {expires}, uid {safe_text(key.uid)})."
            )
            self.note("Store it now: it won't be shown again.")

    # -- expire ------------------------------------------------------------------------------

    def expired(self, results: Sequence[ExpireResult], *, several: bool) -> None:
        """One key: Warp's `{key_uid, expired}` object. Several: a list of them, each failed
        one with its `error` (also said on stderr)."""
        if self.is_json:
            docs = [result.to_json() for result in results]
            self.document(docs if several else docs[0])
        for result in results:
            key = result.key
            if result.error is not None:
                self.note(
                    f"oz-keys: could not expire '{safe_text(key.name)}' ({safe_text(key.uid)}): "
                    f"{safe_text(result.error.message)}"
                )
            elif self.is_json:
                continue
            elif self.format == "text":
                self.out(f"{safe_text(key.uid)}\t{'true' if result.expired else 'false'}")
            else:
                self.out(
                    f"Expired API key '{safe_text(key.name)}' ({safe_text(key.masked)}, "
                    f"uid {safe_text(key.uid)})."
                )

    # -- rotate ------------------------------------------------------------------------------
    # In two steps, because the new key must reach stdout before the old one is expired:
    # `rotated` writes (and flushes) the key, `replaced` then says what became of the old key.
    # A JSON result (or a --jq filter's) is rendered both ways, expired or not, and what the two
    # have in common is written first: the secret is out before anything is expired, and stdout
    # ends up holding one whole document.

    def rotated(self, created: CreatedKey, old: ApiKey) -> None:
        if self.is_json:
            try:
                head = self._rotation_head(created, old)
            except JqError:
                # The new key exists and is shown only here: never lose it to a filter.
                self.out(dumps(created.to_json(), pretty=True))
                self.note(f"{PROG}: the old key '{safe_text(old.name)}' (uid "
                          f"{safe_text(old.uid)}) was not expired")
                raise
            self.stdout.write(head)
            self.stdout.flush()
            return
        self.out(created.raw_key)
        self.stdout.flush()
        if self.format == "pretty":
            key = created.api_key
            expires = (
                "never expires" if key.expires_at is None else f"expires {date_label(key.expires_at)}"
            )
            self.note(
                f"Created {key.scope.value.lower()} API key '{safe_text(key.name)}' "
                f"({safe_text(key.masked)}, {expires}, uid {safe_text(key.uid)}) to replace "
                f"{safe_text(old.masked)}."
            )
            self.note("Store it now: it won't be shown again.")

    def replaced(self, created: CreatedKey, old: ApiKey, *, expired: bool) -> None:
        if self.is_json:
            rendered = self._rotation_result(created, old, expired=expired)
            self.stdout.write(rendered[len(self._rotation_head(created, old)) :])
            self.stdout.flush()
        # On stderr in every format: the person running it learns what became of the old key.
        described = f"'{safe_text(old.name)}' ({safe_text(old.masked)}, uid {safe_text(old.uid)})"
        if expired:
            self.note(f"Expired the old API key {described}.")
        else:
            self.note(
                f"The old API key {described} is still active; expire it once nothing uses it: "
                f"{PROG} expire {safe_text(old.uid)}"
            )

    def _rotation_result(self, created: CreatedKey, old: ApiKey, *, expired: bool) -> str:
        """All that a JSON format (or --jq) writes for a rotation."""
        doc = {**created.to_json(), "replaced": {"key_uid": old.uid, "expired": expired}}
        if self.jq is not None:
            return "".join(self.jq.render(value) + "\n" for value in self.jq.apply(doc))
        return dumps(doc, pretty=self.format == "json") + "\n"

    def _rotation_head(self, created: CreatedKey, old: ApiKey) -> str:
        """Both possible results up to where they differ (the `expired` value, if shown)."""
        return os.path.commonprefix(
            [self._rotation_result(created, old, expired=value) for value in (False, True)]
        )

    # -- audit ------------------------------------------------------------------------------

    def audit(self, findings: Sequence[Finding], *, total: int, policy: AuditPolicy) -> None:
        if self.is_json:
            self.document([finding.to_json() for finding in findings])
        elif self.format == "text":
            rows = (
                (
                    safe_text(finding.key.uid),
                    safe_text(finding.key.name),
                    safe_text(finding.key.masked),
                    ",".join(reason.code for reason in finding.reasons),
                    "; ".join(reason.message for reason in finding.reasons),
                )
                for finding in findings
            )
            if findings:
                for row in (AUDIT_TEXT_HEADER, *rows):
                    self.out("\t".join(row))
        elif findings:
            rows = [
                (
                    safe_text(finding.key.name, max_length=NAME_COLUMN_MAX),
                    safe_text(finding.key.masked),
                    finding.key.scope.value,
                    "; ".join(reason.message for reason in finding.reasons),
                    safe_text(finding.key.uid),
                )
                for finding in findings
            ]
            for line in table(("NAME", "KEY", "SCOPE", "NEEDS ATTENTION", "UID"), rows):
                self.out(line)
        if self.format == "pretty" and self.jq is None:
            noun = "key" if total == 1 else "keys"
            if findings:
                verb = "needs" if len(findings) == 1 else "need"
                self.note(f"{len(findings)} of {total} {noun} {verb} attention.")
            else:
                self.note(f"All {total} {noun} look fine (checked: {policy.describe()}).")

    # -- whoami ------------------------------------------------------------------------------

    def whoami(self, account: Account, server: dict[str, Any], credential: dict[str, Any]) -> None:
        if self.is_json:
            self.document({**account.to_json(), "server": server, "credential": credential})
            return
        if self.format == "text":
            self.out(f"{account.principal}:{safe_text(account.uid)}")
            return
        teams = [(team.uid, team.name) for team in account.teams]
        if server["local"]:
            where = safe_text(server["source"])
        else:
            where = safe_text(server["url"])
        who = safe_text(account.label)
        if account.label != account.uid:
            who += f" (uid {safe_text(account.uid)})"
        team_text = (
            ", ".join(f"{safe_text(name)} ({safe_text(uid)})" for uid, name in teams) or "none"
        )
        cred = credential["kind"]
        if credential["hint"]:
            cred += f" {credential['hint']}"
        if credential["source"]:
            cred += f" from {credential['source']}"
        rows = [("Server:", where), ("Account:", who), ("Teams:", team_text), ("Credential:", cred)]
        for line in table(("", ""), rows)[1:]:
            self.out(line)


def _holds(value: Any, text: str) -> bool:
    """Whether a JSON value has a string containing `text`, at any depth."""
    if isinstance(value, str):
        return text in value
    if isinstance(value, dict):
        return any(_holds(k, text) or _holds(v, text) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds(item, text) for item in value)
    return False


def _expires(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "Never"
    label = date_label(value)
    if value <= now:
        return f"{label} (expired)"
    if expiring_soon(value, now):
        return f"{label} ({relative_time(value, now)})"
    return label
