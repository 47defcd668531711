"""Fixtures shared by the suite: a clock the tests control and deterministic secrets."""

from __future__ import annotations

from typing import Callable

import pytest

from determinism import FakeClock, deterministic_tokens


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def token_factory() -> Callable[[], str]:
    return deterministic_tokens()


@pytest.fixture(autouse=True)
def _test_process_keeps_its_core_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """A `create` or `rotate` run in process (`cli.run`) would lower this worker's hard core
    limit for good (raising it needs CAP_SYS_RESOURCE), and every process the worker starts
    after would inherit it: tests/cross_cutting/test_no_core_dumps.py, which runs the real CLI and panel in
    subprocesses, could no longer tell whether they lower it themselves."""
    import oz_tui.no_core_dumps

    monkeypatch.setattr(oz_tui.no_core_dumps, "disable_core_dumps", lambda: None)


@pytest.fixture(params=["direct", "graphql"])
def local_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a panel test on each path to the local store: directly (the default the CLI builds)
    and through the GraphQL service (what `serve` exposes); the scenarios' local backends
    (`scenarios.demo_backend`, `empty_backend`) follow it."""
    import scenarios

    monkeypatch.setattr(scenarios, "LOCAL_PATH", request.param)
    return request.param


# -- the reliability report (see tests/support/reliability.py) -------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--reliability-report",
        action="store_true",
        default=False,
        help="write docs/reliability.md from this run's results (a full run)",
    )


def pytest_configure(config: pytest.Config) -> None:
    import reliability

    config.stash[_RECORDER] = reliability.Recorder()


_RECORDER = pytest.StashKey["object"]()
#: The key under which a test's proven cells travel in its reports' `user_properties`: under
#: pytest-xdist the tests run in workers, and only their reports reach the process that writes.
_CELL = "reliability-cell"


class _CellRecorder:
    """What a test gets as `reliability`: checks a cell against the matrix at once, and sends
    it with the test's reports to the process that writes the report."""

    def __init__(self, recorder: object, node: pytest.Item) -> None:
        self._recorder = recorder
        self._node = node

    def passed(self, table: str, row: str, column: str, detail: str, variant: str = "") -> None:
        self._recorder.passed(table, row, column, detail, variant)  # type: ignore[attr-defined]
        self._node.user_properties.append((_CELL, (table, row, column, detail, variant)))


@pytest.fixture
def reliability(request: pytest.FixtureRequest) -> _CellRecorder:
    """`reliability.passed(table, row, column, detail, variant="")`: record a proven cell."""
    return _CellRecorder(request.config.stash[_RECORDER], request.node)


#: The recorder of the process that writes the report (the controller under xdist), once known.
_WRITER: list[object] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):  # not an xdist worker
        _WRITER.append(session.config.stash[_RECORDER])


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # In the writing process this sees every report: its own tests' and the workers'.
    for recorder in _WRITER:
        for name, cell in report.user_properties:
            if name == _CELL:
                recorder.passed(*cell)  # type: ignore[attr-defined]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput") or not session.config.getoption(
        "--reliability-report"
    ):
        return
    import reliability

    recorder = session.config.stash[_RECORDER]
    reliability.write_readme(recorder.render())  # type: ignore[attr-defined]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"reliability report written to {reliability.README}")
