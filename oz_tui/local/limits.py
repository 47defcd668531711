"""Every limit of the local key service, stated once; docs/local-service.md's table is rendered
from these (`markdown_table`, kept equal by tests/local/test_serve_capacity.py).

`ServerLimits` are a connection's, enforced by Hypercorn through its public `Config`; `Limits`
are a request's, enforced by the guard (`oz_tui.local.guard`); `QueryLimits` are a GraphQL
document's, checked here by `check_limits` after the standard validation (so fragments are known
to exist and not to cycle), before anything runs: root fields (a mutation has one, so one request
mints at most one key), aliases, depth and a total cost that counts every field a fragment spread
expands to (so a short document cannot fan out through nested fragments into megabytes of
answer). Introspection (`__schema`, `__type`) is refused unless the service was started with it;
`__typename` is always fine.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)


def _limit(default: float, doc: str, unit: str = "") -> Any:
    """A limit with what it bounds, for the docs table."""
    return field(default=default, metadata={"doc": doc, "unit": unit})


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """A connection's, enforced by Hypercorn (uvicorn has no deadline for headers)."""

    header_timeout: float = _limit(
        5.0, "A connection sends its request's headers within this of connecting or of its last "
        "answer (also the TLS handshake's bound), or it is closed. Drips do not extend it.", "s")
    read_timeout: int = _limit(10, "Any single read from a connection waits at most this.", "s")
    max_header_bytes: int = _limit(
        16 * 1024, "Request line and headers larger than this are refused (h11's bound).", "B")
    max_body_messages: int = _limit(
        2, "Body chunks Hypercorn holds for a request before it stops reading the socket "
        "(so a request the guard is not reading costs at most this many reads of memory).")
    graceful_timeout: float = _limit(
        3.0, "Stopping waits this long for requests in progress (refusals waiting their turn "
        "are answered at once).", "s")
    backlog: int = _limit(
        1024, "Connections the kernel queues before they are accepted (capped by "
        "`net.core.somaxconn`).")


@dataclass(frozen=True, slots=True)
class Limits:
    """A request's, enforced by the guard. The GraphQL documents oz-keys sends are a few KB."""

    max_body_bytes: int = _limit(
        64 * 1024, "A request body larger than this is refused (413), from `Content-Length` "
        "before reading, or where a chunked body passes it.", "B")
    body_timeout: float = _limit(
        10.0, "The whole body arrives within this of the headers, or 408.", "s")
    max_concurrent: int = _limit(
        256, "Requests in progress at once that showed a valid key (or ask a public path "
        "without a body); more get 503 with `Retry-After`. Requests without a valid key never "
        "count here: they have their own budget, below.")
    max_working: int = _limit(
        16, "Of those, requests being worked on (body read; GraphQL and SQLite running); more "
        "wait their turn. Slow clients never hold these: they are taken once the body is in.")
    end_of_stream_wait: float = _limit(
        1.0, "After answering a request whose body was not read (or not all of it), how long "
        "what the server read of it is let go of until it ends the stream (at once, normally).",
        "s")
    unauthenticated_burst: int = _limit(
        20, "Refusals of requests that showed no valid key (401, 413 on a public path, 415, "
        "421) answered at once before the rate below applies.")
    unauthenticated_per_second: float = _limit(
        50.0, "Past the burst, such refusals are answered at this rate: each waits its turn, "
        "costing its client time, not the server work.", "/s")
    unauthenticated_max_wait: float = _limit(
        10.0, "A refusal that would wait longer is answered at once (so at most "
        "burst + rate × this connections wait).", "s")


def markdown_table(*limits: object) -> str:
    """The docs table of `limits` (instances of the classes above), one row a limit."""
    rows = ["| Limit | Value | What it bounds |", "|---|---|---|"]
    for instance in limits:
        for item in fields(instance):
            value = getattr(instance, item.name)
            unit = item.metadata["unit"]
            if unit == "B" and value % 1024 == 0:
                shown = f"{value // 1024} KB"
            else:
                shown = f"{value:g}" + (f" {unit}" if unit and unit != "/s" else unit)
            name = f"`{type(instance).__name__}.{item.name}`"
            rows.append(f"| {name} | {shown} | {item.metadata['doc']} |")
    return "\n".join(rows)


@dataclass(frozen=True, slots=True)
class QueryLimits:
    """A GraphQL document's, checked before it runs."""

    max_tokens: int = _limit(
        2_000, "Lexical tokens the parser reads before giving up (bounds parsing itself).")
    max_query_root_fields: int = _limit(4, "Root fields of a query.")
    max_mutation_root_fields: int = _limit(
        1, "Root fields of a mutation: one request mints at most one key.")
    max_aliases: int = _limit(8, "Aliases in a document.")
    max_depth: int = _limit(12, "Levels of nesting.")
    max_cost: int = _limit(400, "Fields selected in all, fragments expanded where they are spread.")


@dataclass(slots=True)
class _Tally:
    cost: int = 0
    aliases: int = 0
    depth: int = 0


def check_limits(
    document: DocumentNode, operation_name: str | None, limits: QueryLimits
) -> list[GraphQLError]:
    """What is wrong with running `document` (empty when within the limits)."""
    fragments = {
        node.name.value: node
        for node in document.definitions
        if isinstance(node, FragmentDefinitionNode)
    }
    operations = [node for node in document.definitions if isinstance(node, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [op for op in operations if op.name and op.name.value == operation_name]
    errors: list[GraphQLError] = []
    for operation in operations:
        roots = _count_root_fields(operation.selection_set, fragments)
        most = (
            limits.max_mutation_root_fields
            if operation.operation is OperationType.MUTATION
            else limits.max_query_root_fields
        )
        if roots > most:
            errors.append(
                GraphQLError(
                    f"An operation may select at most {most} root field(s) here, not {roots}.",
                    operation,
                )
            )
        tally = _Tally()
        _walk(operation.selection_set, fragments, 1, tally, limits)
        if tally.depth > limits.max_depth:
            errors.append(GraphQLError(f"The document nests deeper than {limits.max_depth} levels."))
        if tally.aliases > limits.max_aliases:
            errors.append(GraphQLError(f"The document uses more than {limits.max_aliases} aliases."))
        if tally.cost > limits.max_cost:
            errors.append(
                GraphQLError(f"The document selects more than {limits.max_cost} fields in all.")
            )
    return errors


def _count_root_fields(
    selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode]
) -> int:
    count = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            count += 0 if selection.name.value == "__typename" else 1
        elif isinstance(selection, InlineFragmentNode):
            count += _count_root_fields(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                count += _count_root_fields(fragment.selection_set, fragments)
    return count


def _walk(
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    depth: int,
    tally: _Tally,
    limits: QueryLimits,
) -> None:
    """Add up cost, aliases and depth; stops descending once any limit is passed."""
    if tally.cost > limits.max_cost or depth > limits.max_depth + 1:
        return
    tally.depth = max(tally.depth, depth)
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            tally.cost += 1
            if selection.alias is not None:
                tally.aliases += 1
            if selection.selection_set is not None:
                _walk(selection.selection_set, fragments, depth + 1, tally, limits)
        elif isinstance(selection, InlineFragmentNode):
            _walk(selection.selection_set, fragments, depth, tally, limits)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                _walk(fragment.selection_set, fragments, depth, tally, limits)
        if tally.cost > limits.max_cost:
            return
