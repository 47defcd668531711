"""Snapshot tests: each panel state in tests/support/scenarios.py against its stored SVG.

Update after an intended change with `pytest tests/tui/test_snapshots.py --snapshot-update`, look at
the SVGs in tests/tui/__snapshots__/test_snapshots/, and commit them with the change.
"""

from __future__ import annotations

import pytest
from textual.app import App

from scenarios import SCENARIOS, Scenario


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.name)
def test_panel(snap_compare, scenario: Scenario) -> None:
    app, run_before = scenario.build()
    # The harness ends the session with app.exit(svg) once the screenshot is taken; a dialog
    # holding an uncopied key would (rightly) ask first, so here it leaves as after a "y".
    def leave(result=None, return_code=0, message=None) -> None:  # type: ignore[no-untyped-def]
        app._forget_secrets()
        App.exit(app, result, return_code, message)

    app.exit = leave  # type: ignore[method-assign]
    assert snap_compare(app, terminal_size=scenario.size, run_before=run_before)
