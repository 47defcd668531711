"""The authorization table: each cell decides as documented, and the doc equals the code."""

from pathlib import Path

import pytest

from oz_tui.core.models import KeyScope, KeyType
from oz_tui.core.authorization import Action, Principal, Subject, decide, rules_markdown

OWNER = Principal(KeyScope.PERSONAL, "k-owner")
TEAM = Principal(KeyScope.TEAM, "k-team", "team-1")
AGENT = Principal(KeyScope.AGENT, "k-agent", "agent-1")


def test_doc_matches_code():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text()
    assert "## Who may do what on serve" in doc
    assert rules_markdown() in doc


@pytest.mark.parametrize("who", [OWNER, TEAM, AGENT])
def test_everyone_may_ask_who_they_are(who):
    assert decide(who, Action.WHO_AM_I).allowed


@pytest.mark.parametrize("key_type", list(KeyType))
def test_owner_creates_every_type_service_accounts_none(key_type):
    assert decide(OWNER, Action.CREATE, key_type=key_type).allowed
    for who in (TEAM, AGENT):
        refusal = decide(who, Action.CREATE, key_type=key_type)
        assert not refusal.allowed and "service account" in refusal.reason


def test_expire_service_account_only_itself():
    owner_key = Subject(KeyScope.PERSONAL, "k-owner")
    assert decide(OWNER, Action.EXPIRE, Subject(KeyScope.AGENT, "k-agent", "agent-1")).allowed
    assert decide(AGENT, Action.EXPIRE, Subject(KeyScope.AGENT, "k-agent", "agent-1")).allowed
    assert not decide(AGENT, Action.EXPIRE, owner_key).allowed
    assert not decide(AGENT, Action.EXPIRE, Subject(KeyScope.AGENT, "k-other", "agent-1")).allowed
    assert not decide(TEAM, Action.EXPIRE, owner_key).allowed


def test_list_service_account_only_own_principal():
    assert decide(OWNER, Action.LIST, Subject(KeyScope.TEAM, "k-team", "team-1")).allowed
    assert decide(AGENT, Action.LIST, Subject(KeyScope.AGENT, "k-2", "agent-1")).allowed
    assert not decide(AGENT, Action.LIST, Subject(KeyScope.AGENT, "k-3", "agent-2")).allowed
    assert not decide(AGENT, Action.LIST, Subject(KeyScope.PERSONAL, "k-owner")).allowed
    assert decide(TEAM, Action.LIST, Subject(KeyScope.TEAM, "k-t2", "team-1")).allowed
    assert not decide(TEAM, Action.LIST, Subject(KeyScope.AGENT, "k-agent", "agent-1")).allowed


# Every cell through the GraphQL service and the direct adapter alike:
# tests/cross_cutting/test_local_contract.py (test_authorization_cell).

import httpx  # noqa: E402

from oz_tui.local import LocalService  # noqa: E402


async def test_a_public_path_refuses_a_body_at_once():
    from oz_tui.local.guard import HostAllowList  # noqa: PLC0415
    LOOPBACK_HOSTS = HostAllowList({"127.0.0.1", "localhost"}, any_ip=False)
    service = LocalService(in_memory=True)
    try:
        app = service.guarded(LOOPBACK_HOSTS)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://127.0.0.1:8787") as c:
            for method in ("POST", "PUT", "PATCH", "DELETE"):
                for path in ("/health", "/"):
                    r = await c.request(method, path, content=b"x" * 10)
                    assert r.status_code == 413, (method, path, r.text)
                    assert r.headers.get("connection") == "close"
            assert (await c.get("/health")).status_code == 200
    finally:
        service.close()
