"""Fixtures shared by the suite: a clock the tests control and deterministic secrets."""

from __future__ import annotations

import hashlib
import itertools
from datetime import datetime, timedelta, timezone
from typing import Callable

import pytest

#: "Now" for every deterministic test, snapshot and screenshot.
FIXED_NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


class FakeClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, now: datetime = FIXED_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def deterministic_tokens(seed: str = "oz-keys-test") -> Callable[[], str]:
    """A token factory giving the same 64-hex secrets in the same order on every run."""
    counter = itertools.count()
    return lambda: hashlib.sha256(f"{seed}-{next(counter)}".encode()).hexdigest()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def token_factory() -> Callable[[], str]:
    return deterministic_tokens()


@pytest.fixture(params=["direct", "graphql"])
def local_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a panel test on each path to the local store: directly (the default the CLI builds)
    and through the GraphQL service (what `serve` exposes); the scenarios' local backends
    (`scenarios.demo_backend`, `empty_backend`) follow it."""
    import scenarios

    monkeypatch.setattr(scenarios, "LOCAL_PATH", request.param)
    return request.param


# -- the reliability report (see tests/reliability.py) -------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--reliability-report",
        action="store_true",
        default=False,
        help="write the Reliability section of README.md from this run's results",
    )


def pytest_configure(config: pytest.Config) -> None:
    import reliability

    config.stash[_RECORDER] = reliability.Recorder()


_RECORDER = pytest.StashKey["object"]()


@pytest.fixture
def reliability(request: pytest.FixtureRequest) -> object:
    """`reliability.passed(table, row, column, detail, variant="")`: record a proven cell."""
    return request.config.stash[_RECORDER]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not session.config.getoption("--reliability-report"):
        return
    import reliability

    recorder = session.config.stash[_RECORDER]
    reliability.write_readme(recorder.render())  # type: ignore[attr-defined]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"reliability report written to {reliability.README}")
