"""The baseline for the start-up benchmarks: a bare Textual app with oz-keys' widget tree.

Sidebar, heading with a button, description, search box, a stock DataTable holding the rows in
memory (read from a JSON file: no service, no HTTP, no GraphQL), a status line and a footer.
Nothing else is imported. Run: `python bare_app.py ROWS.json [SOURCE]`.
"""

from __future__ import annotations

import json
import sys

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Footer, Input, Static

CSS = """
Screen { layout: vertical; }
#body { height: 1fr; }
#sidebar { width: 26; height: 1fr; padding: 1 1; background: $boost;
           border-right: vkey $panel-lighten-1; }
#sidebar > Static { height: auto; }
#sidebar > .-title { text-style: bold; margin-bottom: 1; }
#sidebar > .-other { color: $text-disabled; }
#sidebar > .-section { text-style: bold; }
#sidebar > .-page { text-style: bold; background: $primary-muted; padding-left: 1; }
#main { height: 1fr; padding: 1 1 0 2; }
#heading-row { height: 1; }
#heading { width: 1fr; text-style: bold; }
#create { width: auto; }
#description { color: $text-muted; height: auto; margin-top: 1; }
#search { margin-top: 1; }
#keys { margin-top: 1; height: 1fr; }
#status { color: $text-muted; margin-top: 1; height: 1; }
#status-source { width: 1fr; }
#status-summary { width: auto; }
"""


class BareApp(App[None]):
    CSS = CSS
    BINDINGS = [
        Binding("n", "noop", "Create"),
        Binding("d", "noop", "Delete"),
        Binding("slash", "noop", "Search"),
        Binding("r", "noop", "Refresh"),
        Binding("s", "noop", "Sort"),
        Binding("question_mark", "noop", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, columns: list[str], rows: list[list[str]], source: str) -> None:
        super().__init__()
        self.columns = columns
        self.rows = rows
        self.source = source

    def compose(self) -> ComposeResult:
        with Horizontal(id="body"):
            with Vertical(id="sidebar"):
                yield Static("Settings", classes="-title")
                for name in ("Account", "Appearance", "Features", "AI"):
                    yield Static(name, classes="-other")
                yield Static("▾ Cloud platform", classes="-section")
                yield Static("▸ Oz Cloud API Keys", classes="-page")
                for name in ("Keyboard shortcuts", "Privacy", "About"):
                    yield Static(name, classes="-other")
            with Vertical(id="main"):
                with Horizontal(id="heading-row"):
                    yield Static("API keys", id="heading")
                    yield Button("+ Create API Key", id="create", variant="primary", compact=True)
                yield Static(
                    "Keys for the Oz CLI and cloud agents. Docs: "
                    "https://docs.warp.dev/reference/cli/api-keys",
                    id="description",
                )
                yield Input(placeholder="Search API keys", id="search")
                yield DataTable(id="keys", cursor_type="row", zebra_stripes=True)
                with Horizontal(id="status"):
                    yield Static(self.source, id="status-source")
                    count = len(self.rows)
                    yield Static(f"{count} key{'' if count == 1 else 's'}", id="status-summary")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for column in self.columns:
            table.add_column(Text(column), key=column)
        table.add_rows([Text(cell) for cell in row] for row in self.rows)
        table.focus()

    def action_noop(self) -> None:
        pass


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as file:
        data = json.load(file)
    source = sys.argv[2] if len(sys.argv) > 2 else "Demo data (in memory)"
    BareApp(data["columns"], data["rows"], source).run()


if __name__ == "__main__":
    main()
