"""Running one scenario through both ways to the keys (the GraphQL service, the direct adapter) and comparing."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Awaitable, Callable


from oz_tui.core.errors import OzError
from oz_tui.backend import Backend, local_backend
from oz_tui.local.direct import DirectClient

from determinism import FakeClock, deterministic_tokens


PATHS = ("graphql", "direct")


class Recorder:
    """Runs each step on one path's client and records what came back (value or error)."""

    def __init__(self, backend: Backend, clock: FakeClock) -> None:
        self.backend = backend
        self.client = backend.client
        self.clock = clock
        self.steps: list[tuple[str, Any]] = []
        self._uids: dict[str, str] = {}

    async def step(self, label: str, call: Callable[[Any], Awaitable[Any]]) -> Any:
        # Keys made in the same microsecond are ordered by uid, which is random: one step a
        # second keeps the order a property of the path, not of chance.
        self.clock.advance(timedelta(seconds=1))
        try:
            value = await call(self.client)
        except (OzError, ValueError, TypeError) as exc:
            outcome: Any = ("error", type(exc).__name__, str(exc),
                            getattr(exc, "may_have_succeeded", None))
            self.steps.append((label, outcome))
            return None
        self.steps.append((label, ("ok", self._normal(value))))
        return value

    def _normal(self, value: Any) -> Any:
        """Comparable across paths: uids (random uuid4s) become their order of appearance;
        datetimes keep their instant and their zone."""
        if isinstance(value, list):
            return [self._normal(item) for item in value]
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
            if "uid" in fields and type(value).__name__ == "ApiKey":
                fields["uid"] = self._uids.setdefault(fields["uid"], f"key-{len(self._uids)}")
            return (type(value).__name__,
                    {name: self._normal(item) for name, item in fields.items()})
        if isinstance(value, tuple):
            return tuple(self._normal(item) for item in value)
        if isinstance(value, datetime):
            return (value.isoformat(), value.utcoffset())
        return value


async def run_on_both(
    tmp_path: Path, scenario: Callable[[Recorder], Awaitable[None]], *, demo: bool = False
) -> dict[str, list[tuple[str, Any]]]:
    steps: dict[str, list[tuple[str, Any]]] = {}
    for path in PATHS:
        clock = FakeClock()
        backend = local_backend(
            None if demo else tmp_path / path, demo=demo, clock=clock,
            token_factory=deterministic_tokens(), path=path,  # type: ignore[arg-type]
        )
        assert isinstance(backend.client, DirectClient) == (path == "direct")
        recorder = Recorder(backend, clock)
        try:
            await scenario(recorder)
        finally:
            await backend.aclose()
        steps[path] = recorder.steps
    assert steps["graphql"], "the scenario recorded nothing"
    return steps


def assert_same(steps: dict[str, list[tuple[str, Any]]]) -> None:
    graphql, direct = steps["graphql"], steps["direct"]
    assert [label for label, _ in graphql] == [label for label, _ in direct]
    for (label, through_graphql), (_, straight) in zip(graphql, direct):
        assert straight == through_graphql, f"{label}: the two paths differ"
