"""How the subcommands print: pretty | json | ndjson | text. No Textual, no network.

Rules: results go to stdout, notes, prompts and errors to stderr; a raw key only ever goes to
stdout. Untrusted strings (names, server messages) pass through `safe_text` in pretty and text
output; JSON is written with `ensure_ascii=True`, so control and bidi characters arrive escaped.
"""

from __future__ import annotations

import json
import os
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from oz_tui.api.models import Account, ApiKey, CreatedKey, format_time
from oz_tui.audit import AuditPolicy, Finding
from oz_tui.display import date_label, expiring_soon, relative_time
from oz_tui.sanitize import safe_text

#: Names longer than this are cut in the pretty table (never in json/ndjson/text).
NAME_COLUMN_MAX = 40


def dumps(obj: Any, *, pretty: bool) -> str:
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


def _time_or_never(value: datetime | None) -> str:
    return format_time(value) if value is not None else "never"


@dataclass
class Output:
    """Writes one command's results in the chosen format."""

    format: str
    stdout: TextIO
    stderr: TextIO

    @property
    def is_json(self) -> bool:
        return self.format in ("json", "ndjson")

    # -- plumbing ------------------------------------------------------------------------------

    def out(self, line: str = "") -> None:
        self.stdout.write(line + "\n")

    def note(self, text: str) -> None:
        """A message for the person (stderr), in every format: stdout stays machine-readable."""
        self.stderr.write(text + "\n")
        self.stderr.flush()

    def json_doc(self, obj: Any) -> None:
        self.out(dumps(obj, pretty=self.format == "json"))

    # -- list ------------------------------------------------------------------------------

    def keys(self, keys: Sequence[ApiKey], now: datetime) -> None:
        if self.format == "json":
            self.json_doc([key.to_json() for key in keys])
        elif self.format == "ndjson":
            for key in keys:
                self.json_doc(key.to_json())
        elif self.format == "text":
            for key in keys:
                self.out(
                    "\t".join(
                        (
                            safe_text(key.uid),
                            safe_text(key.name),
                            safe_text(key.masked),
                            key.scope.value,
                            format_time(key.created_at),
                            _time_or_never(key.last_used_at),
                            _time_or_never(key.expires_at),
                        )
                    )
                )
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
        if self.is_json:
            self.json_doc(created.to_json())
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

    # -- rotate ------------------------------------------------------------------------------
    # In two steps, because the new key must reach stdout before the old one is expired:
    # `rotated` writes (and flushes) the key, `replaced` then says what became of the old key.
    # JSON documents are split just before the `expired` value, so stdout holds one whole
    # document at the end and the secret is out before anything is expired.

    def rotated(self, created: CreatedKey, old: ApiKey) -> None:
        if self.is_json:
            self.stdout.write(self._rotation_doc_head(created, old))
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
            doc = self._rotation_doc(created, old, expired=expired)
            self.stdout.write(doc[len(self._rotation_doc_head(created, old)) :])
            self.stdout.flush()
        # On stderr in every format: the person running it learns what became of the old key.
        described = f"'{safe_text(old.name)}' ({safe_text(old.masked)}, uid {safe_text(old.uid)})"
        if expired:
            self.note(f"Expired the old API key {described}.")
        else:
            self.note(
                f"The old API key {described} is still active; expire it once nothing uses it: "
                f"oz-keys expire {safe_text(old.uid)}"
            )

    def _rotation_doc(self, created: CreatedKey, old: ApiKey, *, expired: bool) -> str:
        doc = {**created.to_json(), "replaced": {"key_uid": old.uid, "expired": expired}}
        return dumps(doc, pretty=self.format == "json") + "\n"

    def _rotation_doc_head(self, created: CreatedKey, old: ApiKey) -> str:
        """Both possible documents up to where they differ: the `expired` value."""
        return os.path.commonprefix(
            [self._rotation_doc(created, old, expired=value) for value in (False, True)]
        )

    # -- audit ------------------------------------------------------------------------------

    def audit(self, findings: Sequence[Finding], *, total: int, policy: AuditPolicy) -> None:
        if self.format == "json":
            self.json_doc([finding.to_json() for finding in findings])
        elif self.format == "ndjson":
            for finding in findings:
                self.json_doc(finding.to_json())
        elif self.format == "text":
            for finding in findings:
                key = finding.key
                self.out(
                    "\t".join(
                        (
                            safe_text(key.uid),
                            safe_text(key.name),
                            safe_text(key.masked),
                            ",".join(reason.code for reason in finding.reasons),
                            "; ".join(reason.message for reason in finding.reasons),
                        )
                    )
                )
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
        if self.format == "pretty":
            noun = "key" if total == 1 else "keys"
            if findings:
                verb = "needs" if len(findings) == 1 else "need"
                self.note(f"{len(findings)} of {total} {noun} {verb} attention.")
            else:
                self.note(f"All {total} {noun} look fine (checked: {policy.describe()}).")

    # -- expire ------------------------------------------------------------------------------

    def expired(self, key: ApiKey, *, expired: bool) -> None:
        if self.is_json:
            self.json_doc({"key_uid": key.uid, "expired": expired})
        elif self.format == "text":
            self.out(f"{safe_text(key.uid)}\t{'true' if expired else 'false'}")
        elif expired:
            self.out(
                f"Expired API key '{safe_text(key.name)}' ({safe_text(key.masked)}, "
                f"uid {safe_text(key.uid)})."
            )
        else:
            self.note(f"Kept API key '{safe_text(key.name)}'; nothing was expired.")

    # -- whoami ------------------------------------------------------------------------------

    def whoami(self, account: Account, server: dict[str, Any], credential: dict[str, Any]) -> None:
        if self.is_json:
            self.json_doc({**account.to_json(), "server": server, "credential": credential})
            return
        teams = [(team.uid, team.name) for team in account.teams]
        if self.format == "text":
            self.out(f"server\t{safe_text(server['url'] or server['source'])}")
            self.out(f"account\t{safe_text(account.uid)}\t{safe_text(account.label)}")
            for uid, name in teams:
                self.out(f"team\t{safe_text(uid)}\t{safe_text(name)}")
            self.out(f"credential\t{credential['kind']}\t{credential['hint'] or ''}".rstrip("\t"))
            return
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


def _expires(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "Never"
    label = date_label(value)
    if value <= now:
        return f"{label} (expired)"
    if expiring_soon(value, now):
        return f"{label} ({relative_time(value, now)})"
    return label
