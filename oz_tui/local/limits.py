"""How much work one GraphQL document may ask of the local key service.

Checked after the standard validation (so fragments are known to exist and not to cycle), before
anything runs: root fields (a mutation has one, so one request mints at most one key), aliases,
depth and a total cost that counts every field a fragment spread expands to (so a short document
cannot fan out through nested fragments into megabytes of answer). Introspection (`__schema`,
`__type`) is refused unless the service was started with it; `__typename` is always fine.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class QueryLimits:
    #: Lexical tokens the parser reads before giving up (bounds parsing itself).
    max_tokens: int = 2_000
    max_query_root_fields: int = 4
    max_mutation_root_fields: int = 1
    max_aliases: int = 8
    max_depth: int = 12
    #: Fields selected in all, fragments expanded where they are spread.
    max_cost: int = 400


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
