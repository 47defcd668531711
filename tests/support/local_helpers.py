"""Helpers for driving the local key service in tests, without the real API client."""

from __future__ import annotations

import itertools
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from oz_tui.api.operations import Operation

PYTHON = sys.executable
START = datetime(2026, 3, 14, 9, 30, tzinfo=timezone.utc)

REQUEST_CONTEXT = {
    "clientContext": {"version": "oz-keys-test"},
    "osContext": {
        "category": "Linux",
        "name": "Linux",
        "version": "6.1",
        "linuxKernelVersion": None,
    },
}


class MutableClock:
    """A clock a test can move."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def counting_tokens() -> Any:
    """A token_factory giving distinct, predictable secrets (64 hex characters)."""
    counter = itertools.count(1)
    return lambda: f"{next(counter):064x}"


def body(operation: Operation, **variables: Any) -> dict[str, Any]:
    return {
        "query": operation.document,
        "variables": {"requestContext": REQUEST_CONTEXT, **variables},
        "operationName": operation.name,
    }


async def post(
    client: httpx.AsyncClient, operation: Operation, *, key: str | None = None, **variables: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return await client.post(
        f"/graphql/v2?op={operation.name}", json=body(operation, **variables), headers=headers
    )


async def call(
    client: httpx.AsyncClient, operation: Operation, *, key: str | None = None, **variables: Any
) -> dict[str, Any]:
    """The operation's result union member; fails on anything but a clean GraphQL answer."""
    response = await post(client, operation, key=key, **variables)
    assert response.status_code == 200, response.text
    payload = response.json()
    assert "errors" not in payload, payload["errors"]
    return payload["data"][operation.root_field]


def error_message(result: dict[str, Any]) -> str:
    assert result["__typename"] == "UserFacingError", result
    return result["error"]["message"]
