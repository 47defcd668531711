"""The GraphQL documents: valid against our schema and Warp's, sent under the right names."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    OperationDefinitionNode,
    build_schema,
    parse,
    print_ast,
    validate,
    validate_schema,
)
from graphql.execution.values import get_variable_values

from fault_server import GOOD_ANSWERS
from oz_tui.api import operations
from oz_tui.api.client import OzClient
from oz_tui.core.models import Expiration

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT_SDL = REPO_ROOT / "oz_tui" / "api" / "schema.graphql"
#: The subset of Warp's schema that Warp's client uses, kept with the tests so that every clone
#: runs the contract tests.
REFERENCE_SDL = Path(__file__).resolve().parents[1] / "reference" / "warp-api-keys.graphql"

EXPECTED_NAMES = {
    "ApiKeys": "query",
    "GenerateApiKey": "mutation",
    "ExpireApiKey": "mutation",
    "GetUser": "query",
    "GetWorkspacesMetadataForUser": "query",
}


@pytest.fixture(scope="module")
def project_schema() -> GraphQLSchema:
    return build_schema(PROJECT_SDL.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def reference_schema() -> GraphQLSchema:
    return build_schema(REFERENCE_SDL.read_text(encoding="utf-8"))


def _operation_node(op: operations.Operation) -> OperationDefinitionNode:
    document = parse(op.document)
    nodes = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    assert len(nodes) == 1, f"{op.name} must hold exactly one operation"
    return nodes[0]


def test_the_project_schema_is_a_valid_schema(project_schema: GraphQLSchema) -> None:
    # The local service builds it with assume_valid (it is checked here instead, once).
    assert validate_schema(project_schema) == []


def test_the_operations_are_named_as_warp_names_them() -> None:
    found = {op.name: _operation_node(op).operation.value for op in operations.ALL_OPERATIONS}
    assert found == EXPECTED_NAMES
    for op in operations.ALL_OPERATIONS:
        node = _operation_node(op)
        assert node.name is not None and node.name.value == op.name


@pytest.mark.parametrize("op", operations.ALL_OPERATIONS, ids=lambda op: op.name)
def test_operation_validates_against_project_schema(
    op: operations.Operation, project_schema: GraphQLSchema
) -> None:
    assert validate(project_schema, parse(op.document)) == []


@pytest.mark.parametrize("op", operations.ALL_OPERATIONS, ids=lambda op: op.name)
def test_operation_validates_against_warp_reference_schema(
    op: operations.Operation, reference_schema: GraphQLSchema
) -> None:
    assert validate(reference_schema, parse(op.document)) == []


@pytest.mark.parametrize("op", operations.ALL_OPERATIONS, ids=lambda op: op.name)
def test_operation_root_field_and_success_type_exist(
    op: operations.Operation, project_schema: GraphQLSchema
) -> None:
    node = _operation_node(op)
    root = project_schema.query_type if node.operation.value == "query" else project_schema.mutation_type
    assert root is not None and op.root_field in root.fields
    union = root.fields[op.root_field].type.of_type  # NonNull(Union)
    assert isinstance(union, GraphQLUnionType)
    members = {t.name for t in union.types}
    assert members == {op.success_type, "UserFacingError"}


def test_a_broken_document_would_be_caught(project_schema: GraphQLSchema) -> None:
    """The validation above is able to fail."""
    broken = operations.API_KEYS.document.replace("keySuffix", "keySufix")
    assert validate(project_schema, parse(broken)) != []


# -- the project schema is compatible with Warp's -------------------------------------------------


def _incompatibilities(ours: GraphQLSchema, ref: GraphQLSchema) -> list[str]:
    problems: list[str] = []
    for kind in ("query_type", "mutation_type"):
        ref_root, our_root = getattr(ref, kind), getattr(ours, kind)
        if ref_root is not None and (our_root is None or our_root.name != ref_root.name):
            problems.append(f"{kind}: {ref_root.name} vs {our_root and our_root.name}")
    for name, ref_type in ref.type_map.items():
        if name.startswith("__"):
            continue
        our_type = ours.type_map.get(name)
        if our_type is None:
            problems.append(f"type {name} missing")
            continue
        if type(our_type) is not type(ref_type):
            problems.append(f"type {name}: {type(our_type).__name__} vs {type(ref_type).__name__}")
            continue
        if isinstance(ref_type, (GraphQLObjectType, GraphQLInterfaceType)):
            assert isinstance(our_type, (GraphQLObjectType, GraphQLInterfaceType))
            ref_ifaces = {i.name for i in ref_type.interfaces}
            our_ifaces = {i.name for i in our_type.interfaces}
            if not ref_ifaces <= our_ifaces:
                problems.append(f"{name} implements {our_ifaces}, Warp's {ref_ifaces}")
            for field_name, ref_field in ref_type.fields.items():
                our_field = our_type.fields.get(field_name)
                if our_field is None:
                    problems.append(f"{name}.{field_name} missing")
                    continue
                if str(our_field.type) != str(ref_field.type):
                    problems.append(f"{name}.{field_name}: {our_field.type} vs {ref_field.type}")
                for arg_name, ref_arg in ref_field.args.items():
                    our_arg = our_field.args.get(arg_name)
                    if our_arg is None:
                        problems.append(f"{name}.{field_name}({arg_name}) missing")
                    elif str(our_arg.type) != str(ref_arg.type):
                        problems.append(
                            f"{name}.{field_name}({arg_name}): {our_arg.type} vs {ref_arg.type}"
                        )
                extra_required = [
                    a for a, arg in our_field.args.items()
                    if a not in ref_field.args and str(arg.type).endswith("!")
                ]
                if extra_required:
                    problems.append(f"{name}.{field_name} requires extra {extra_required}")
        elif isinstance(ref_type, GraphQLInputObjectType):
            assert isinstance(our_type, GraphQLInputObjectType)
            for field_name, ref_field in ref_type.fields.items():
                our_field = our_type.fields.get(field_name)
                if our_field is None:
                    problems.append(f"{name}.{field_name} missing")
                elif str(our_field.type) != str(ref_field.type):
                    problems.append(f"{name}.{field_name}: {our_field.type} vs {ref_field.type}")
        elif isinstance(ref_type, GraphQLEnumType):
            assert isinstance(our_type, GraphQLEnumType)
            if set(our_type.values) != set(ref_type.values):
                problems.append(f"enum {name}: {set(our_type.values)} vs {set(ref_type.values)}")
        elif isinstance(ref_type, GraphQLUnionType):
            assert isinstance(our_type, GraphQLUnionType)
            if {t.name for t in our_type.types} != {t.name for t in ref_type.types}:
                problems.append(f"union {name} members differ")
        else:
            assert isinstance(ref_type, GraphQLScalarType)
    return problems


def test_project_schema_is_compatible_with_warp_reference(
    project_schema: GraphQLSchema, reference_schema: GraphQLSchema
) -> None:
    assert _incompatibilities(project_schema, reference_schema) == []


def _extras(ours: GraphQLSchema, ref: GraphQLSchema) -> list[str]:
    """What our schema has that Warp's does not: types, fields, arguments, values, members."""
    extras: list[str] = []
    for name, our_type in ours.type_map.items():
        if name.startswith("__") or name in ("String", "Boolean", "ID", "Int", "Float"):
            continue
        ref_type = ref.type_map.get(name)
        if ref_type is None:
            extras.append(f"type {name}")
            continue
        if isinstance(our_type, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
            assert isinstance(ref_type, type(our_type))
            for field_name, our_field in our_type.fields.items():
                ref_field = ref_type.fields.get(field_name)
                if ref_field is None:
                    extras.append(f"{name}.{field_name}")
                    continue
                for arg_name in getattr(our_field, "args", {}):
                    if arg_name not in ref_field.args:
                        extras.append(f"{name}.{field_name}({arg_name})")
            if isinstance(our_type, (GraphQLObjectType, GraphQLInterfaceType)):
                assert isinstance(ref_type, (GraphQLObjectType, GraphQLInterfaceType))
                extra_ifaces = {i.name for i in our_type.interfaces} - {
                    i.name for i in ref_type.interfaces
                }
                extras.extend(f"{name} implements {i}" for i in sorted(extra_ifaces))
        elif isinstance(our_type, GraphQLEnumType):
            assert isinstance(ref_type, GraphQLEnumType)
            extras.extend(f"{name}.{v}" for v in sorted(set(our_type.values) - set(ref_type.values)))
        elif isinstance(our_type, GraphQLUnionType):
            assert isinstance(ref_type, GraphQLUnionType)
            members = {t.name for t in our_type.types} - {t.name for t in ref_type.types}
            extras.extend(f"{name} | {m}" for m in sorted(members))
    return extras


def test_project_schema_is_a_subset_of_warps(
    project_schema: GraphQLSchema, reference_schema: GraphQLSchema
) -> None:
    """Nothing the client could come to rely on that Warp's server does not have."""
    assert _extras(project_schema, reference_schema) == []


def test_subset_check_notices_an_extra(reference_schema: GraphQLSchema) -> None:
    sdl = PROJECT_SDL.read_text(encoding="utf-8")
    grown = (
        sdl.replace("  keySuffix: String!\n", "  keySuffix: String!\n  keyPrefix: String\n", 1)
        .replace("enum OwnerType {\n", "enum OwnerType {\n  Robot\n")
        + "\ntype LocalOnly { id: ID }\n"
    )
    extras = _extras(build_schema(grown), reference_schema)
    assert "APIKeyProperties.keyPrefix" in extras
    assert "OwnerType.Robot" in extras
    assert "type LocalOnly" in extras


def test_compatibility_check_notices_a_drift(reference_schema: GraphQLSchema) -> None:
    """The check is able to fail: a renamed field, a changed type and a missing argument."""
    sdl = PROJECT_SDL.read_text(encoding="utf-8")
    drifted = (
        sdl.replace("keySuffix: String!", "keySuffix: String")
        .replace("  lastUsedAt: Time\n", "  lastUsed: Time\n")
        .replace("expireApiKey(input: ExpireApiKeyInput!, requestContext", "expireApiKey(requestContext")
    )
    problems = _incompatibilities(build_schema(drifted), reference_schema)
    assert any("keySuffix" in p for p in problems)
    assert any("lastUsedAt" in p for p in problems)
    assert any("expireApiKey(input)" in p for p in problems)


# -- what the client actually sends -------------------------------------------------------------


async def _sent_requests() -> list[httpx.Request]:
    captured: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        op = request.url.params["op"]
        return httpx.Response(200, json=GOOD_ANSWERS[op])

    async with OzClient(
        "https://oz.example.test", "wk-1.00ff", transport=httpx.MockTransport(handler)
    ) as client:
        await client.list_keys()
        await client.create_key("Laptop", Expiration.DAYS_30, team_id="team-1")
        await client.create_key("Laptop", datetime(2027, 1, 5, tzinfo=timezone.utc))
        await client.create_key("Laptop", Expiration.NEVER)
        await client.create_key("Bot", Expiration.DAYS_90, agent_uid="agent-1")
        await client.expire_key("key-personal")
        await client.whoami()
    return captured


async def test_each_operation_is_posted_to_graphql_v2_with_its_name_in_op() -> None:
    requests = await _sent_requests()
    assert [r.url.params["op"] for r in requests][:6] == [
        "ApiKeys", "GenerateApiKey", "GenerateApiKey", "GenerateApiKey", "GenerateApiKey",
        "ExpireApiKey",
    ]
    # who-am-I: two queries sent together, in either order
    assert sorted(r.url.params["op"] for r in requests[6:]) == [
        "GetUser", "GetWorkspacesMetadataForUser",
    ]
    by_name = {op.name: op for op in operations.ALL_OPERATIONS}
    for request in requests:
        assert request.method == "POST"
        assert request.url.host == "oz.example.test"
        assert request.url.path == "/graphql/v2"
        assert list(request.url.params.keys()) == ["op"]
        body = json.loads(request.content)
        assert body["operationName"] == request.url.params["op"]
        assert body["query"] == by_name[body["operationName"]].document


@pytest.mark.parametrize("which", ["project", "reference"])
async def test_variables_the_client_sends_are_valid_for_the_schema(
    which: str, project_schema: GraphQLSchema, request: pytest.FixtureRequest
) -> None:
    """requestContext, input (personal, team, agent; with and without expiresAt) and keyUid,
    as the client builds them, coerce without errors: graphql-core's own variable coercion."""
    schema = project_schema if which == "project" else request.getfixturevalue("reference_schema")
    for sent in await _sent_requests():
        body = json.loads(sent.content)
        node = _operation_node(next(o for o in operations.ALL_OPERATIONS if o.name == body["operationName"]))
        outcome: Any = get_variable_values(schema, node.variable_definitions, body["variables"])
        # graphql-core answers a list of GraphQLErrors when the variables do not coerce.
        assert not isinstance(outcome, list), f"{body['operationName']}: {outcome}"
        if "input" in body["variables"]:
            # ...and it does say so for a bad input: the check is able to fail.
            bad = {**body["variables"], "input": {**body["variables"]["input"], "bogus": 1}}
            assert isinstance(get_variable_values(schema, node.variable_definitions, bad), list)
        context = body["variables"]["requestContext"]
        for broken in (
            {**context, "osContext": {**context["osContext"], "kernel": "6.1"}},
            {"osContext": context["osContext"]},
        ):
            bad = {**body["variables"], "requestContext": broken}
            assert isinstance(get_variable_values(schema, node.variable_definitions, bad), list)


async def test_every_kind_of_variables_was_checked() -> None:
    """The coercion test above covers each operation and each key type."""
    bodies = [json.loads(r.content) for r in await _sent_requests()]
    assert {b["operationName"] for b in bodies} == set(EXPECTED_NAMES)
    inputs = [b["variables"]["input"] for b in bodies if b["operationName"] == "GenerateApiKey"]
    assert any("teamId" in i for i in inputs) and any("agentUid" in i for i in inputs)
    assert any("teamId" not in i and "agentUid" not in i for i in inputs)
    assert any(i["expiresAt"] is None for i in inputs)
    (expire,) = [b for b in bodies if b["operationName"] == "ExpireApiKey"]
    assert expire["variables"].keys() == {"keyUid", "requestContext"}


def test_expire_writes_its_input_inline_as_warp_does() -> None:
    node = _operation_node(operations.EXPIRE_API_KEY)
    assert [(v.variable.name.value, str(print_ast(v.type))) for v in node.variable_definitions] == [
        ("keyUid", "ID!"),
        ("requestContext", "RequestContext!"),
    ]
    assert "expireApiKey(input: {keyUID: $keyUid}, requestContext: $requestContext)" in (
        " ".join(operations.EXPIRE_API_KEY.document.split())
    )
