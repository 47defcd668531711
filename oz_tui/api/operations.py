"""Every GraphQL document oz-keys sends, named as Warp's desktop client names its operations.

Each is POSTed to `{server_root}/graphql/v2?op=<name>`; `tests/api/test_operations.py` validates them
against `schema.graphql` with graphql-core.
"""

from __future__ import annotations

from dataclasses import dataclass

_KEY_FIELDS = """
  uid
  name
  keySuffix
  ownerType
  agentInfo { uid name }
  createdAt
  lastUsedAt
  expiresAt
"""

_USER_FACING_ERROR = """
    ... on UserFacingError {
      error { message }
    }
"""


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    #: The root field whose value is the result union.
    root_field: str
    #: The success member of that union.
    success_type: str
    document: str


#: What every operation takes, as Warp's client sends it.
_CONTEXT_VARIABLE = "$requestContext: RequestContext!"
_CONTEXT_ARGUMENT = "requestContext: $requestContext"


def _operation(
    kind: str,
    name: str,
    root_field: str,
    success_type: str,
    selection: str,
    *,
    variables: str = "",
    arguments: str = "",
) -> Operation:
    """An operation on `root_field`, whose result is a union of `success_type` (of which
    `selection`, indented for its place, is asked) and `UserFacingError`: the shape all of
    Warp's key operations share. `variables` and `arguments` come before the request context."""
    variables = ", ".join(filter(None, (variables, _CONTEXT_VARIABLE)))
    arguments = ", ".join(filter(None, (arguments, _CONTEXT_ARGUMENT)))
    document = f"""
{kind} {name}({variables}) {{
  {root_field}({arguments}) {{
    __typename
    ... on {success_type} {{
{selection}
    }}
{_USER_FACING_ERROR}
  }}
}}
"""
    return Operation(name, root_field, success_type, document)


def _user_query(name: str, selection: str) -> Operation:
    """A query on `user`: who the credential acts as."""
    return _operation("query", name, "user", "UserOutput", selection)


API_KEYS = _operation(
    "query",
    "ApiKeys",
    "apiKeys",
    "APIKeyPropertiesOutput",
    f"      apiKeys {{ {_KEY_FIELDS} }}",
)

GENERATE_API_KEY = _operation(
    "mutation",
    "GenerateApiKey",
    "generateApiKey",
    "GenerateApiKeyOutput",
    f"""      rawApiKey
      apiKey {{ {_KEY_FIELDS} }}""",
    variables="$input: GenerateApiKeyInput!",
    arguments="input: $input",
)

EXPIRE_API_KEY = _operation(
    "mutation",
    "ExpireApiKey",
    "expireApiKey",
    "ExpireApiKeyOutput",
    "      success",
    # The input written inline, as Warp's client does.
    variables="$keyUid: ID!",
    arguments="input: {keyUID: $keyUid}",
)

GET_USER = _user_query(
    "GetUser",
    """      apiKeyOwnerType
      principalType
      user {
        profile { uid displayName email }
      }""",
)

#: The teams, asked apart from the profile as Warp's client does (the two go out together).
GET_WORKSPACES_METADATA_FOR_USER = _user_query(
    "GetWorkspacesMetadataForUser",
    """      user {
        workspaces {
          uid
          name
          teams { uid name }
        }
      }""",
)

ALL_OPERATIONS = (
    API_KEYS,
    GENERATE_API_KEY,
    EXPIRE_API_KEY,
    GET_USER,
    GET_WORKSPACES_METADATA_FOR_USER,
)
