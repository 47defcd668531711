"""Snapshot tests: each panel state in tests/scenarios.py against its stored SVG.

Update after an intended change with `pytest tests/test_snapshots.py --snapshot-update`, look at
the SVGs in tests/__snapshots__/test_snapshots/, and commit them with the change.
"""

from __future__ import annotations

import pytest

from scenarios import SCENARIOS, Scenario


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.name)
def test_panel(snap_compare, scenario: Scenario) -> None:
    app, run_before = scenario.build()
    assert snap_compare(app, terminal_size=scenario.size, run_before=run_before)
