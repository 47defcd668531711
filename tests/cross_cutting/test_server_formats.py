"""A server value printed raw, copied or handed to another program is checked against its format
where the answer is read (issue 23, point 2): the raw key, uids, key suffixes.

A hostile server puts terminal controls into each of them (OSC 52 writing the clipboard, a screen
clear, a title, a C1 CSI, a bidi override) for `create`, `rotate` and `list`, in every output
format and through `--jq`: the command fails with one clean line naming the field, stdout stays
empty, nothing of the value is shown, and a create says the key may have been made. The panel's
*Copy uid* never copies such a uid. Good values of the same fields (the local service's, Warp's
shapes) still pass.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fault_server as fs
from determinism import FakeClock
from oz_tui import cli
from oz_tui.core import formats
from oz_tui.local import LocalService

CREDENTIAL = "wk-1." + "0" * 64
MAY_EXIST = "The key may have been created: refresh the list to check."

#: What a hostile server hides in a value; each would act on a terminal or mislead a reader.
HOSTILE = {
    "osc52": "\x1b]52;c;cm0gLXJmIH4K\x07",  # writes the clipboard
    "clear": "\x1b[2J",  # clears the screen
    "title": "\x1b]0;pwned\x07",  # retitles the terminal
    "c1-csi": "\x9b31m",  # the one-byte CSI
    "bidi": "\u202egpj.exe",  # reads backwards
}
#: Never in anything the CLI writes for these cases.
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _key(**changes: Any) -> dict[str, Any]:
    return {**fs.PERSONAL_KEY, **changes}


def _tainted(value: str, payload: str) -> str:
    return value[:6] + payload + value[6:]


#: (command, field): where the value goes in the server's answers, and whether a key was made
#: by the time it is refused.
CASES: dict[str, tuple[tuple[str, ...], str, bool]] = {
    "create-rawApiKey": (("create", "x"), "rawApiKey", True),
    "create-uid": (("create", "x"), "uid", True),
    "create-keySuffix": (("create", "x"), "keySuffix", True),
    "rotate-rawApiKey": (("rotate", "key-personal", "--force"), "rawApiKey", True),
    "rotate-new-uid": (("rotate", "key-personal", "--force"), "uid", True),
    "rotate-old-keySuffix": (("rotate", "key-personal", "--force"), "list:keySuffix", False),
    "list-uid": (("list",), "list:uid", False),
    "list-keySuffix": (("list",), "list:keySuffix", False),
    "list-agentInfo.uid": (("list",), "list:agentInfo.uid", False),
}
FORMATS = {
    "pretty": (),
    "text": ("-o", "text"),
    "json": ("-o", "json"),
    "jq": ("--jq", "JQ"),
}


def _answers(field: str, payload: str) -> dict[str, dict[str, Any]]:
    listed = [fs.PERSONAL_KEY, fs.TEAM_KEY, fs.AGENT_KEY]
    created = fs.created_answer()
    if field.startswith("list:"):
        name = field.removeprefix("list:")
        if name == "agentInfo.uid":
            agent = fs.AGENT_KEY["agentInfo"]
            listed[2] = {**fs.AGENT_KEY, "agentInfo": {**agent, "uid": _tainted(agent["uid"], payload)}}
        else:
            listed[0] = _key(**{name: _tainted(fs.PERSONAL_KEY[name], payload)})
    elif field == "rawApiKey":
        created = fs.created_answer(raw=_tainted(fs.RAW_KEY, payload))
    else:
        created = fs.created_answer(key=_key(**{field: _tainted(fs.PERSONAL_KEY[field], payload)}))
    return {**fs.GOOD_ANSWERS, "ApiKeys": fs.keys_answer(*listed), "GenerateApiKey": created}


@pytest.fixture(scope="module")
def hostile_server() -> Iterator[Any]:
    """One server for the module's tests (run one after another in a process): `answers` holds
    what it answers to each operation, set by each test."""
    server = fs.ThreadedFaultServer(
        lambda request: fs.json_answer(server.answers[request.operation])  # type: ignore[attr-defined]
    )
    server.answers = {}  # type: ignore[attr-defined]
    yield server
    server.close()


def _run(url: str, argv: list[str], tmp: Path) -> tuple[int, str, str]:
    environ = {"WARP_API_KEY": CREDENTIAL, "HOME": str(tmp),
               "XDG_CONFIG_HOME": str(tmp / "config"), "XDG_DATA_HOME": str(tmp / "data")}
    out, err = io.StringIO(), io.StringIO()
    code = cli.run([*argv, "--server-root-url", url], env=environ, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("output", list(FORMATS))
@pytest.mark.parametrize("payload", list(HOSTILE))
@pytest.mark.parametrize("case", list(CASES))
def test_a_value_outside_its_format_is_refused_in_one_line_naming_the_field(
    case: str, payload: str, output: str, hostile_server: Any, tmp_path: Path
) -> None:
    command, field, created = CASES[case]
    hostile_server.answers = _answers(field, HOSTILE[payload])
    jq = ".raw_api_key" if command[0] != "list" else ".[].uid"
    flags = [jq if flag == "JQ" else flag for flag in FORMATS[output]]
    code, stdout, stderr = _run(hostile_server.url, [*command, *flags], tmp_path)
    lines = stderr.splitlines()
    assert code == 1, (code, stdout, stderr)
    assert stdout == "", stdout  # nothing of the refused answer, in any format
    assert len(lines) == 1 and lines[0].startswith("oz-keys: "), stderr
    field_name = field.removeprefix("list:")
    assert f"field '{field_name}' is not in its format" in lines[0], lines[0]
    assert not _FORBIDDEN.search(lines[0]), stderr
    # Not even a cleaned copy of the value: only the field's name.
    assert "52;c" not in stderr and "[2J" not in stderr and "pwned" not in stderr
    assert "gpj" not in stderr and "31m" not in stderr
    assert (MAY_EXIST in lines[0]) == created, lines[0]


GOOD_RAW = 'wk-1.ab"cd\\ef~!'


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ([], GOOD_RAW + "\n"),
        (["-o", "text"], GOOD_RAW + "\n"),
        (["--jq", ".raw_api_key"], GOOD_RAW + "\n"),
        (["-o", "json"], json.dumps(GOOD_RAW)),
        (["--jq", "."], json.dumps(GOOD_RAW)),
        (["--jq", "[.raw_api_key]"], json.dumps([GOOD_RAW])),
    ],
)
def test_a_key_in_its_format_is_printed_exactly_and_jq_sees_it(
    flags: list[str], expected: str, hostile_server: Any, tmp_path: Path
) -> None:
    """Visible ASCII passes as it is; with `--jq` the filter gets the real key, and a key whose
    `"` or `\\` JSON escapes is not said to be left out (the note looked at the written text)."""
    hostile_server.answers = {**fs.GOOD_ANSWERS, "GenerateApiKey": fs.created_answer(raw=GOOD_RAW)}
    code, stdout, stderr = _run(hostile_server.url, ["create", "x", *flags], tmp_path)
    assert code == 0, stderr
    assert (stdout == expected) if expected.endswith("\n") else (expected in stdout), stdout
    assert "left out" not in stderr, stderr


def test_jq_that_drops_the_key_still_says_so(hostile_server: Any, tmp_path: Path) -> None:
    hostile_server.answers = {**fs.GOOD_ANSWERS}
    code, stdout, stderr = _run(hostile_server.url, ["create", "x", "--jq", ".api_key.uid"],
                                tmp_path)
    assert code == 0 and stdout == "key-personal\n"
    assert "--jq left out the raw key" in stderr


# -- the formats themselves ----------------------------------------------------------------------


def test_the_local_service_values_are_in_their_formats() -> None:
    """What `oz-keys serve` and the embedded service make passes: its keys, uids and suffixes,
    its agents', its user's, workspace's and team's."""
    service = LocalService.demo(clock=FakeClock())
    store = service.store
    key, raw = store.create_key("x", team_uid=None, agent_uid=None, expires_at=None)
    assert formats.is_raw_key(raw) and formats.is_uid(key.uid)
    assert formats.is_key_suffix(key.key_suffix)
    for stored in store.active_keys():
        assert formats.is_uid(stored.uid) and formats.is_key_suffix(stored.key_suffix)
    for agent in store.agents():
        assert formats.is_uid(agent.uid)
    me = store.identity
    for uid in (me.user_uid, me.workspace_uid, *(team.uid for team in me.teams)):
        assert formats.is_uid(uid)


@pytest.mark.parametrize("value", [
    "wk-1.0123456789abcdef", "wk-1." + "f" * 64, "wk-" + "a" * 253,
    'wk-1.ab"cd\\ef~!',
])
def test_keys_in_the_format(value: str) -> None:
    assert formats.is_raw_key(value)


@pytest.mark.parametrize("value", [
    "", "wk-", "wk-1. ab", "wk-1.ab\n", "WK-1.ab", "sk-1.ab", "wk-" + "a" * 254,
    "wk-1.\u00e9", *(f"wk-1.ab{payload}" for payload in HOSTILE.values()),
])
def test_keys_outside_the_format(value: str) -> None:
    assert not formats.is_raw_key(value)


@pytest.mark.parametrize("value", [
    "key-personal", "a", "HpTQWZzPnR5vjhqT1RZfpb", "0f8fad5b-d9cb-469f-a165-70867728950e",
    "serviceAccount:abc_123.x", "x" * 128,
])
def test_uids_in_the_format(value: str) -> None:
    assert formats.is_uid(value)


@pytest.mark.parametrize("value", [
    "", "-rf", "--force", "a b", "a;rm", "$(id)", "a\n", "a/b", "x" * 129, "\u00e9",
    *(f"key{payload}" for payload in HOSTILE.values()),
])
def test_uids_outside_the_format(value: str) -> None:
    assert not formats.is_uid(value)


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=20))
def test_a_suffix_is_in_its_format_exactly_when_it_is_short_visible_ascii(value: str) -> None:
    visible = all("!" <= char <= "~" for char in value)
    assert formats.is_key_suffix(value) == (visible and len(value) <= formats.MAX_SUFFIX_LENGTH)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_nothing_with_a_control_or_space_is_ever_in_a_format(value: str) -> None:
    if any(not ("!" <= char <= "~") for char in value):
        assert not formats.is_raw_key(value)
        assert not formats.is_uid(value)
        assert not formats.is_key_suffix(value)


# -- the panel's Copy uid --------------------------------------------------------------------------

WIDE = (140, 36)


def _panel_answers(uid: str) -> Any:
    from scenarios import SIGNED_IN_USER

    def answer(request: httpx.Request) -> httpx.Response:
        operation = request.url.params.get("op", "")
        if operation == "ApiKeys":
            return httpx.Response(200, json=fs.keys_answer(_key(uid=uid), fs.TEAM_KEY))
        if operation in ("GetUser", "GetWorkspacesMetadataForUser"):
            return httpx.Response(200, json=SIGNED_IN_USER)
        return httpx.Response(200, json=fs.agents_answer())

    return answer


async def _copy_first_uid(uid: str, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], str]:
    """Run the panel against a server listing a key with `uid` first, open the highlighted
    key's details and press Copy uid: what reached a clipboard (the terminal's, through OSC 52,
    and the system's), and the screen's text once the list had loaded."""
    from oz_tui.backend import remote_backend
    from oz_tui.tui import clipboard
    from scenarios import make_app, settle
    from screen_check import notification_messages, screen_lines

    system: list[str] = []
    monkeypatch.setattr(clipboard, "find_system_copier", lambda: system.append)
    clock = FakeClock()

    async def no_sleep(_seconds: float) -> None:
        return None

    backend = remote_backend("https://app.warp.dev", CREDENTIAL, clock=clock,
                             transport=httpx.MockTransport(_panel_answers(uid)), sleep=no_sleep)
    app = make_app(backend, clock)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await settle(pilot)
        shown = "\n".join([*screen_lines(app), *notification_messages(app)])
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("c")
        await settle(pilot)
        copied = [*system, *([app.clipboard] if app.clipboard else [])]
    return copied, shown


async def test_the_panel_copies_a_uid_in_its_format(monkeypatch: pytest.MonkeyPatch) -> None:
    """The path the next test relies on: a good uid is copied, to both clipboards."""
    copied, _shown = await _copy_first_uid("key-personal", monkeypatch)
    assert copied == ["key-personal", "key-personal"]


@pytest.mark.parametrize("payload", list(HOSTILE))
async def test_the_panel_never_copies_a_uid_with_controls(
    payload: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A listing whose uid carries controls is refused where it is read: no key to copy, and
    the panel says which field was wrong (the old panel copied the uid as it came)."""
    copied, shown = await _copy_first_uid(_tainted("key-personal", HOSTILE[payload]), monkeypatch)
    assert copied == [], copied
    assert "field 'uid' is not in its format" in " ".join(shown.split()), shown


def _user_answers(where: str, payload: str) -> dict[str, dict[str, Any]]:
    user = json.loads(json.dumps(fs.user_answer()))
    workspaces = json.loads(json.dumps(fs.workspaces_answer()))
    if where == "profile.uid":
        user["data"]["user"]["user"]["profile"]["uid"] = _tainted("user-1", payload)
    elif where == "teams.uid":
        workspace = workspaces["data"]["user"]["user"]["workspaces"][0]
        workspace["teams"][0]["uid"] = _tainted("team-1", payload)
    else:
        workspace = workspaces["data"]["user"]["user"]["workspaces"][0]
        workspace["uid"] = _tainted("ws-1", payload)
    return {**fs.GOOD_ANSWERS, "GetUser": user, "GetWorkspacesMetadataForUser": workspaces}


@pytest.mark.parametrize("output", [("-o", "text"), ("-o", "json"), ("--jq", ".uid")])
@pytest.mark.parametrize("where", ["profile.uid", "teams.uid", "workspaces.uid"])
def test_whoami_refuses_a_uid_outside_its_format(
    where: str, output: tuple[str, ...], hostile_server: Any, tmp_path: Path
) -> None:
    """`whoami -o text` writes `type:uid` for scripts; team uids go back to the server."""
    hostile_server.answers = _user_answers(where, HOSTILE["osc52"])
    code, stdout, stderr = _run(hostile_server.url, ["whoami", *output], tmp_path)
    assert code == 1 and stdout == "", (stdout, stderr)
    assert stderr.count("\n") == 1 and f"field '{where}' is not in its format" in stderr, stderr
    assert "52;c" not in stderr


def test_create_by_agent_name_refuses_an_agent_uid_outside_its_format(
    hostile_server: Any, tmp_path: Path
) -> None:
    """The agent's uid is sent back as `agentUid`: from a hostile list, no key is asked for."""
    agents = [{"uid": _tainted("agent-1", HOSTILE["clear"]), "name": "triage-agent",
               "available": True}]
    hostile_server.answers = {**fs.GOOD_ANSWERS, fs.AGENTS_PATH: fs.agents_answer(agents)}
    code, stdout, stderr = _run(hostile_server.url, ["create", "x", "--agent-name",
                                                     "triage-agent"], tmp_path)
    assert code == 1 and stdout == "", (stdout, stderr)
    assert "field 'agents.uid' is not in its format" in stderr, stderr
    assert MAY_EXIST not in stderr and "[2J" not in stderr
