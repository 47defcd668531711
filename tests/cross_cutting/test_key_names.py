"""One key-name rule (oz_tui/core/names.py), the same verdict and message on every path: the
create dialog, the CLI, and the local store through the GraphQL service and the direct adapter.

Before the rule had one home, the dialog refused bidi controls the CLI and the store accepted,
the store refused control characters the CLI sent, and each said it its own way.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from textual.widgets import Button, Input, Static

from oz_tui.core.models import Expiration
from oz_tui.cli import run
from oz_tui.core import names
from oz_tui.core.names import BLANK, CONTROL, MAX_KEY_NAME_LENGTH, too_long
from oz_tui.tui.screens import CreateKeyScreen

from both_ways import Recorder, run_on_both
from dialog_hosts import SIZE, FakeCreate, Host, shown_text

#: (label, name, the message refusing it or None when it is taken)
NAMES = [
    ("plain", "Deploy bot", None),
    ("trimmed", "  padded  ", None),
    ("unicode", "Déploiement 🚀", None),
    ("longest", "n" * MAX_KEY_NAME_LENGTH, None),
    ("too long", "x" * (MAX_KEY_NAME_LENGTH + 1), too_long(MAX_KEY_NAME_LENGTH + 1)),
    ("too long once trimmed", " " + "y" * (MAX_KEY_NAME_LENGTH + 5) + " ",
     too_long(MAX_KEY_NAME_LENGTH + 5)),
    ("bidi override", "evil\u202egpj.exe", CONTROL),
    ("bidi isolate", "left\u2066right", CONTROL),
    ("right-to-left mark", "mark\u200f", CONTROL),
    ("line separator", "two\u2028lines", CONTROL),
    ("escape", "red \x1b[31m", CONTROL),
    ("tab", "tab\there", CONTROL),
    ("C1 control", "csi \x9b", CONTROL),
    ("DEL", "del \x7f", CONTROL),
]
IDS = [label for label, _, _ in NAMES]


@pytest.mark.parametrize(("label", "name", "refusal"), NAMES, ids=IDS)
def test_the_rule(label: str, name: str, refusal: str | None) -> None:
    assert names.name_problem(name) == refusal
    if refusal is None:
        assert names.check_name(name) == name.strip()
    else:
        with pytest.raises(names.KeyNameError, match="^The API key name"):
            names.check_name(name)


@pytest.mark.parametrize(("label", "name", "refusal"), NAMES, ids=IDS)
def test_the_cli_gives_the_same_verdict(
    tmp_path: Path, label: str, name: str, refusal: str | None
) -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    code = run(["create", name, "--local", "--data-dir", str(tmp_path / "data"), "-o", "json"],
               env=env, stdin=io.StringIO(), stdout=stdout, stderr=stderr)
    if refusal is None:
        assert code == 0, stderr.getvalue()
        assert '"raw_api_key"' in stdout.getvalue()
    else:
        assert (code, stdout.getvalue()) == (2, "")
        line, rest = stderr.getvalue().split("\n", 1)
        assert line.startswith(f"oz-keys: {refusal}") and rest == ""


async def test_the_store_gives_the_same_verdict_through_both_paths(tmp_path: Path) -> None:
    async def scenario(r: Recorder) -> None:
        for label, name, _ in NAMES:
            await r.step(label, lambda c, n=name: c.create_key(n, Expiration.DAYS_30))

    steps = await run_on_both(tmp_path, scenario)
    for path, recorded in steps.items():
        for (label, outcome), (_, _, refusal) in zip(recorded, NAMES):
            if refusal is None:
                assert outcome[0] == "ok", (path, label, outcome)
            else:
                assert outcome[:3] == ("error", "UserFacingError", refusal), (path, label)


@pytest.mark.parametrize(("label", "name", "refusal"), NAMES, ids=IDS)
async def test_the_dialog_gives_the_same_verdict(
    label: str, name: str, refusal: str | None
) -> None:
    create = FakeCreate()
    app = Host(CreateKeyScreen(create, teams=()))
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#name", Input).value = name  # as a paste would
        await pilot.pause()
        shown = " ".join(shown_text(app.screen.query_one("#name-problem", Static)).split())
        if refusal is None:
            assert not app.screen.query_one("#create", Button).disabled
            assert shown == ""
        else:
            assert " ".join(refusal.split()) in shown
            assert app.screen.query_one("#create", Button).disabled


def test_a_blank_name_is_refused_but_the_dialog_sends_the_default() -> None:
    assert names.name_problem("   ") == BLANK
    assert names.name_problem("   ", blank_allowed=True) is None


def test_the_readme_states_the_rule() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert " ".join(names.RULE.split()) in " ".join(readme.split())
