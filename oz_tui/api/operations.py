"""Every GraphQL document oz-keys sends, named as Warp's desktop client names its operations.

Each is POSTed to `{server_root}/graphql/v2?op=<name>`; `tests/test_operations.py` validates them
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


API_KEYS = Operation(
    name="ApiKeys",
    root_field="apiKeys",
    success_type="APIKeyPropertiesOutput",
    document=f"""
query ApiKeys($requestContext: RequestContext!) {{
  apiKeys(requestContext: $requestContext) {{
    __typename
    ... on APIKeyPropertiesOutput {{
      apiKeys {{ {_KEY_FIELDS} }}
    }}
{_USER_FACING_ERROR}
  }}
}}
""",
)

GENERATE_API_KEY = Operation(
    name="GenerateApiKey",
    root_field="generateApiKey",
    success_type="GenerateApiKeyOutput",
    document=f"""
mutation GenerateApiKey($input: GenerateApiKeyInput!, $requestContext: RequestContext!) {{
  generateApiKey(input: $input, requestContext: $requestContext) {{
    __typename
    ... on GenerateApiKeyOutput {{
      rawApiKey
      apiKey {{ {_KEY_FIELDS} }}
    }}
{_USER_FACING_ERROR}
  }}
}}
""",
)

EXPIRE_API_KEY = Operation(
    name="ExpireApiKey",
    root_field="expireApiKey",
    success_type="ExpireApiKeyOutput",
    document=f"""
mutation ExpireApiKey($keyUid: ID!, $requestContext: RequestContext!) {{
  expireApiKey(input: {{keyUID: $keyUid}}, requestContext: $requestContext) {{
    __typename
    ... on ExpireApiKeyOutput {{
      success
    }}
{_USER_FACING_ERROR}
  }}
}}
""",
)

GET_USER = Operation(
    name="GetUser",
    root_field="user",
    success_type="UserOutput",
    document=f"""
query GetUser($requestContext: RequestContext!) {{
  user(requestContext: $requestContext) {{
    __typename
    ... on UserOutput {{
      apiKeyOwnerType
      principalType
      user {{
        profile {{ uid displayName email }}
      }}
    }}
{_USER_FACING_ERROR}
  }}
}}
""",
)

#: The teams, asked apart from the profile as Warp's client does (the two go out together).
GET_WORKSPACES_METADATA_FOR_USER = Operation(
    name="GetWorkspacesMetadataForUser",
    root_field="user",
    success_type="UserOutput",
    document=f"""
query GetWorkspacesMetadataForUser($requestContext: RequestContext!) {{
  user(requestContext: $requestContext) {{
    __typename
    ... on UserOutput {{
      user {{
        workspaces {{
          uid
          name
          teams {{ uid name }}
        }}
      }}
    }}
{_USER_FACING_ERROR}
  }}
}}
""",
)

ALL_OPERATIONS = (
    API_KEYS,
    GENERATE_API_KEY,
    EXPIRE_API_KEY,
    GET_USER,
    GET_WORKSPACES_METADATA_FOR_USER,
)
