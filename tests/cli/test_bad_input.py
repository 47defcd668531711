"""One line for every bad input: each class of input that used to end in a traceback, tried with
several members, and a property test throwing generated command lines and config values at the
CLI. Plus the server URL's rules: no user:password in it, loopback bypasses proxies, and a key
sent over plain http to another machine is warned about first.

In process (`oz_tui.cli.run`) where a real terminal or descriptor is not needed; no test here
reaches the network: remote commands get a transport that refuses, or a loopback server.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oz_tui import cli
from oz_tui.local.store import KeyStore

REPO = Path(__file__).resolve().parents[2]
EXIT_CODES = {0, 1, 2, 3, 4, 130}
KEY = "wk-1." + "ab" * 32


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Remote backends get a transport that refuses to connect; home and config are throwaway."""
    import oz_tui.backend as backend

    real = backend.remote_backend

    def refusing(server_root: str, api_key: str | None, **options: Any) -> Any:
        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused (test)", request=request)

        built = real(server_root, api_key, **options)
        built.client._http._transport = httpx.MockTransport(refuse)
        return built

    monkeypatch.setattr(backend, "remote_backend", refusing)
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))


def run(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.run(list(argv), env=env or {}, stdin=io.StringIO(""), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def assert_one_line(result: tuple[int, str, str], code: int, *words: str) -> None:
    exit_code, _out, err = result
    assert exit_code == code, result
    assert err.count("\n") == 1 and err.startswith("oz-keys: "), err
    assert "Traceback" not in err and "internal error" not in err
    for word in words:
        assert word in err, (word, err)


# -- each class, several members -------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["create", "\udcff\udcfe", "--demo"],
        ["create", "caf\udce9", "--demo"],
        ["expire", "\udc80", "--demo", "--force"],
        ["create", "ok", "--demo", "--team-id", "t\udcff"],
        ["create", "ok", "--demo", "--expires-at", "2030-01-01T00:00:00\udcffZ"],
        ["list", "--demo", "--request-timeout", "5\udcff"],
    ],
)
def test_text_that_is_not_utf8(argv: list[str], reliability: Any) -> None:
    assert_one_line(run(*argv), 2, "not valid UTF-8")
    reliability.passed("hardening", "non-utf8", "outcome", 'names, NAME_OR_UID, --team-id, --expires-at, --request-timeout with non-UTF-8 bytes: exit 2, one line; a non-UTF-8 --data-dir works as a path')


def test_a_path_that_is_not_utf8_is_a_path(tmp_path: Path) -> None:
    data_dir = os.fsdecode(os.fsencode(str(tmp_path)) + b"/d\xff")
    code, out, err = run("list", "--local", "--data-dir", data_dir, "--output-format", "json")
    assert (code, out.strip(), err) == (0, "[]", "")


@pytest.mark.parametrize(
    "when",
    [
        "9999-12-31T23:59:59-01:00",
        "9999-12-31T23:00:00-23:59",
        "0001-01-01T00:00:00+01:00",
        "0001-01-01T00:30:00+00:31",
    ],
)
def test_times_python_cannot_represent(when: str, reliability: Any) -> None:
    assert_one_line(run("create", "k", "--demo", "--expires-at", when), 2, "--expires-at")
    reliability.passed("hardening", "time-range", "outcome", '9999-12-31T23:59:59-01:00, 9999-12-31T23:00-23:59, 0001-01-01T00:00+01:00, 0001-01-01T00:30+00:31: exit 2, one line')


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://[::1", "not a valid URL"),
        ("http://[::1]]:80", "not a valid URL"),
        ("http://::1:8787", "invalid port"),
        ("http://h:99999", "invalid port"),
        ("http://h:-1", "invalid port"),
        ("http://h:0", "invalid port"),
        ("http://h:8o", "invalid port"),
        ("http://[127.0.0.1]", "not a valid URL"),
        ("http://a..b", "host name"),
        ("http://-a", "host name"),
        ("http://exa mple", "http(s) URL"),
        ("ftp://h", "http(s) URL"),
        ("http://h\u2028x", "http(s) URL"),
    ],
)
def test_malformed_urls(url: str, words: str, reliability: Any) -> None:
    for argv, env in (
        (["list", "--server-root-url", url], {}),
        (["whoami"], {"WARP_SERVER_ROOT_URL": url, "WARP_API_KEY": KEY}),
    ):
        assert_one_line(run(*argv, env=env), 2, words)
    reliability.passed("hardening", "bad-url", "outcome", '13 URLs (unbalanced brackets, IPv4 in brackets, bare IPv6, ports 99999/-1/0/8o, empty labels, spaces, ftp, U+2028) from flag and env: exit 2, one line')


@pytest.mark.parametrize("path", ["~nosuchuser/x", "~no-such-user-at-all", "~\udcff/x"])
def test_tilde_user_that_does_not_exist(path: str, tmp_path: Path, reliability: Any) -> None:
    assert_one_line(run("list", "--data-dir", path), 2, "--data-dir", "no such user")
    assert_one_line(run("list", "--demo", env={"OZ_KEYS_CONFIG": path}), 2, "OZ_KEYS_CONFIG")
    config = tmp_path / "c.toml"
    config.write_text(f'data_dir = "{path.encode("utf-8", "replace").decode()}"\n')
    if "\udcff" not in path:
        assert_one_line(run("list", env={"OZ_KEYS_CONFIG": str(config)}), 2, "data_dir")
    reliability.passed("hardening", "tilde-user", "outcome", "~nosuchuser(/x) in --data-dir, OZ_KEYS_CONFIG and the config's data_dir: exit 2, one line")


@pytest.mark.parametrize("value", ["a\\u0000b", "\\u0000", "x/\\u0000/y"])
def test_nul_in_config_paths(value: str, tmp_path: Path, reliability: Any) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'data_dir = "{value}"\n')
    assert_one_line(run("list", env={"OZ_KEYS_CONFIG": str(config)}), 2, "NUL")
    assert_one_line(run("list", "--data-dir", "a\0b"), 2, "NUL")
    assert_one_line(run("list", "--demo", env={"OZ_KEYS_CONFIG": "c\0.toml"}), 2, "NUL")
    reliability.passed("hardening", "nul", "outcome", "NUL in the config's data_dir (3 places), --data-dir, OZ_KEYS_CONFIG: exit 2, one line")


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "dev-urandom", "directory", "huge", "socket"])
def test_config_files_that_are_not_small_regular_files(kind: str, tmp_path: Path, reliability: Any) -> None:
    path = tmp_path / "config.toml"
    if kind == "fifo":
        os.mkfifo(path)  # nobody writes: reading it would block for ever
    elif kind == "dev-zero":
        path = Path("/dev/zero")  # reading it would never end
    elif kind == "dev-urandom":
        path = Path("/dev/urandom")
    elif kind == "directory":
        path.mkdir()
    elif kind == "huge":
        path.write_text("# x\n" * 100_000)
    elif kind == "socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
    result = run("list", "--demo", env={"OZ_KEYS_CONFIG": str(path)})
    assert_one_line(result, 2, str(path))
    reliability.passed("hardening", "config-file", "outcome", 'FIFO with no writer, /dev/zero, /dev/urandom, a directory, a 400 KB file, a socket: exit 2 at once, one line')


@pytest.mark.parametrize(
    "document",
    ["a = " + "[" * 5000 + "]" * 5000, "a = " + "{b = " * 3000 + "1" + "}" * 3000,
     "[" + "a." * 5000 + "b]"],
    ids=["arrays", "inline-tables", "dotted-keys"],
)
def test_deeply_nested_toml(document: str, tmp_path: Path, reliability: Any) -> None:
    config = tmp_path / "deep.toml"
    config.write_text(document + "\n")
    code, _, err = run("list", "--demo", env={"OZ_KEYS_CONFIG": str(config)})
    assert code == 2 and err.count("\n") == 1 and str(config) in err, err
    reliability.passed("hardening", "nested-toml", "outcome", '5000 nested arrays, 3000 nested inline tables, 5000 dotted keys: exit 2, one line')


def _closed_stdout(*argv: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WARP_", "OZ_KEYS_"))}
    return subprocess.run(
        ["sh", "-c", 'exec "$@" >&-', "sh", sys.executable, "-m", "oz_tui", *argv,
         "--local", "--data-dir", str(data_dir)],
        capture_output=False, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env, timeout=60,
    )


@pytest.mark.parametrize(
    "argv",
    [["list"], ["whoami"], ["create", "k"], ["expire", "kept", "--force"], ["delete", "kept", "--force"]],
)
def test_stdout_closed_for_every_subcommand(argv: list[str], tmp_path: Path, reliability: Any) -> None:
    data_dir = tmp_path / "data"
    store = KeyStore(data_dir / "keys.db")
    store.create_key("kept")
    store.close()
    result = _closed_stdout(*argv, data_dir=data_dir)
    assert result.returncode == 1
    assert result.stderr == "oz-keys: standard output is closed; nothing was done\n"
    store = KeyStore(data_dir / "keys.db")
    assert [k.name for k in store.active_keys()] == ["kept"]  # nothing created, nothing expired
    store.close()
    reliability.passed("hardening", "stdout-closed", "outcome", 'list, whoami, create, expire, delete with stdout closed: exit 1, one line, nothing created or expired')


# -- the property: whatever the argv and config, one line and a documented code ---------------------

#: Known-bad members of each class, by the flag they go to, so that a bounded run meets every
#: class many times; generated text besides.
_NAMES = ["", " ", "\udcff", "a\udc80b", "x\x00y", "\x1b[31m", "\u202e", "x" * 200, "--", "-x"]
_VALUES = {
    "--expires-at": ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00",
                     "9999-12-31T23:00:00-23:59", "2030-01-01T00:00:00Z", "2030-01-01", "\udcff"],
    "--server-root-url": ["http://[::1", "http://[::1]]:1", "http://h:99999", "http://h:0",
                          "http://u:p@127.0.0.1:1", "http://127.0.0.1:1", "http://a..b",
                          "http://\udcff", "https://app.warp.dev"],
    "--data-dir": ["~nosuchuser", "~nosuchuser/x", "/dev/zero", "/dev/null/x", "\udcff"],
    "--request-timeout": ["nan", "inf", "-1", "1e309", "0", "601", "\udcff"],
    "--command-timeout": ["nan", "inf", "-1", "1e309", "0", "3601", "\udcff"],
    "--team-id": ["\udcff", "x\x00", "local-team"],
    "--api-key": ["wk-1.\udcff", "\x00", "~nosuchuser", "wk-1." + "ab" * 32],
    "--output-format": ["json", "text", "ndjson", "pretty"],
}
_GLOBAL = ["--server-root-url", "--data-dir", "--request-timeout", "--command-timeout", "--api-key",
           "--output-format"]
_FLAGS = {
    "list": _GLOBAL,
    "whoami": _GLOBAL,
    "create": [*_GLOBAL, "--expires-at", "--expires-at", "--team-id"],
    "expire": _GLOBAL,
    "delete": _GLOBAL,
}
_ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=24)


def _value(flag: str) -> st.SearchStrategy[tuple[str, str]]:
    # Three in four values are known-bad ones.
    values = st.one_of(*[st.sampled_from(_VALUES[flag])] * 3, _ANY_TEXT)
    return st.tuples(st.just(flag), values)


_COMMAND = st.sampled_from(list(_FLAGS))
_TEXT = st.one_of(*[st.sampled_from(_NAMES)] * 3, _ANY_TEXT)
_TOML_STRINGS = st.sampled_from([v for values in _VALUES.values() for v in values]) | st.text(
    max_size=20
)
_TOML_VALUE = (
    _TOML_STRINGS.map(lambda t: '"' + "".join(
        c if c.isalnum() or c in " ~/:.[]-_@" else f"\\u{ord(c):04x}" if ord(c) < 0x10000
        and not 0xD800 <= ord(c) <= 0xDFFF else "?" for c in t) + '"')
    | st.integers(min_value=-(2**70), max_value=2**70).map(str)
    | st.sampled_from(["true", "nan", "inf", "-inf", "1e400", "[1, 2]", "{a = 1}",
                       "1979-05-27T07:32:00Z", "[" * 60 + "]" * 60, "nope"])
)
_CONFIG = st.dictionaries(
    st.sampled_from(["server_root_url", "default_expiration", "default_key_type", "theme",
                     "data_dir", "clipboard_clear_seconds", "request_timeout", "command_timeout",
                     "unknown"]),
    _TOML_VALUE,
    max_size=3,
)


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), command=_COMMAND, name=_TEXT,
       switches=st.lists(st.sampled_from(["--local", "--force", "--team", "--no-expiration"]),
                         max_size=1),
       config=st.none() | _CONFIG)
def test_generated_argv_and_config_get_one_line_and_a_documented_code(
    data: st.DataObject, command: str, name: str, switches: list[str],
    config: dict[str, str] | None, tmp_path: Path,
    reliability: Any,
) -> None:
    options = data.draw(st.lists(st.sampled_from(_FLAGS[command]).flatmap(_value), max_size=2))
    argv = [command] + ([name] if command in ("create", "expire", "delete") else [])
    for flag, value in options:
        argv += [f"{flag}={value}"] if value.startswith("-") else [flag, value]
    argv += switches
    if not {"--local", "--server-root-url", "--api-key"} & set(argv):
        argv.append("--demo")  # the in-memory service unless the example picked another
    if "--local" in argv and "--data-dir" not in argv:
        argv += ["--data-dir", str(tmp_path / "data")]
    env: dict[str, str] = {}
    if config is not None:
        path = tmp_path / "config.toml"
        path.write_text("".join(f"{k} = {v}\n" for k, v in config.items()), encoding="utf-8")
        env["OZ_KEYS_CONFIG"] = str(path)
    cwd = os.getcwd()
    os.chdir(tmp_path)  # a generated relative --data-dir lands here, not in the checkout
    try:
        code, _out, err = run(*argv, env=env)
    finally:
        os.chdir(cwd)
    assert code in EXIT_CODES, (argv, config, code, err)
    assert "Traceback" not in err and "internal error" not in err, (argv, config, err)
    if code != 0:  # a success may add its notes ("Store it now…"); a failure is its line
        assert len(err.splitlines()) <= 2, (argv, config, err)  # plus at most one warning
        assert err.splitlines()[-1].startswith("oz-keys: "), (argv, config, err)
    reliability.passed("hardening", "property", "outcome", '200 generated command lines (subcommand-aware flags, three in four values known-bad) and config files: documented exit code, a failure is at most a warning and its line, no traceback')


# -- URLs and proxies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("http://user:hunter2@127.0.0.1:1", "hunter2"),
        ("https://:s3cr3t-pass@app.warp.dev", "s3cr3t-pass"),
        ("https://alice:p%40ss%3Aword@h.example:8443/x", "p%40ss%3Aword"),
        ("http://only-user-token-abc@127.0.0.1:1", "only-user-token-abc"),
    ],
)
def test_a_server_url_with_credentials_is_refused_unechoed(url: str, secret: str, tmp_path: Path, reliability: Any) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'server_root_url = "{url}"\n')
    for argv, env in (
        (["whoami", "--output-format", "json", "--server-root-url", url], {"WARP_API_KEY": KEY}),
        (["list", "--output-format", "json"], {"WARP_SERVER_ROOT_URL": url}),
        (["whoami", "--output-format", "json"], {"OZ_KEYS_CONFIG": str(config)}),
    ):
        code, out, err = run(*argv, env=env)
        assert code == 2 and out == "" and err.count("\n") == 1, (argv, err)
        assert "user name or password" in err
        assert secret not in out + err and secret.split("%")[0] + "%" not in out + err
    reliability.passed("hardening", "url-credentials", "outcome", 'user:pass@, :pass@, percent-encoded pass, token-as-user; from flag, env and config; whoami json and list: exit 2, secret nowhere')


@pytest.mark.parametrize(
    ("url", "warned"),
    [
        ("http://192.0.2.1:8787", True),
        ("http://keys.example.com", True),
        ("http://[2001:db8::1]:8787", True),
        ("http://10.0.0.1", True),
        ("http://127.0.0.1:1", False),
        ("http://127.0.0.2:1", False),
        ("http://localhost:1", False),
        ("http://[::1]:1", False),
        ("https://keys.example.com", False),
    ],
)
def test_plain_http_to_another_machine_is_warned_about_first(url: str, warned: bool, reliability: Any) -> None:
    code, _, err = run("list", "--server-root-url", url, env={"WARP_API_KEY": KEY})
    lines = err.splitlines()
    assert code == 1 and lines[-1].startswith("oz-keys: ")
    if warned:
        assert len(lines) == 2 and lines[0].startswith("oz-keys: warning: sending the API key "
                                                       "unencrypted (http)"), err
    else:
        assert len(lines) == 1, err
    reliability.passed("hardening", "plain-http", "outcome", 'warning first for 192.0.2.1, a DNS name, [2001:db8::1], 10.0.0.1; none for 127.0.0.1, 127.0.0.2, localhost, [::1], https')


_SERVE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from oz_tui.local import serve

    serve("127.0.0.1", 0, Path(sys.argv[1]), on_ready=lambda url: print(url, flush=True))
    """
)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    data_dir = tmp_path / "served"
    store = KeyStore(data_dir / "keys.db")
    raw = store.create_key("admin")[1]
    store.close()
    proc = subprocess.Popen([sys.executable, "-c", _SERVE, str(data_dir)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO)
    assert proc.stdout is not None
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        yield url, raw
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=15)
        finally:
            if proc.poll() is None:
                proc.kill()


def test_loopback_servers_bypass_proxies(served: tuple[str, str], tmp_path: Path, reliability: Any) -> None:
    url, raw = served
    with socket.socket() as dead:  # a port nobody listens on: any proxied request fails
        dead.bind(("127.0.0.1", 0))
        dead_proxy = f"http://127.0.0.1:{dead.getsockname()[1]}"
    port = url.rsplit(":", 1)[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WARP_", "OZ_KEYS_"))
           and "proxy" not in k.lower()}
    env["WARP_API_KEY"] = raw
    env["HOME"] = str(tmp_path)
    for proxy_vars in (["HTTP_PROXY"], ["http_proxy"], ["ALL_PROXY"], ["all_proxy", "HTTPS_PROXY"]):
        for server in (url, f"http://localhost:{port}"):
            proxied = {**env, **{name: dead_proxy for name in proxy_vars}}
            result = subprocess.run(
                [sys.executable, "-m", "oz_tui", "list", "--server-root-url", server,
                 "--output-format", "json", "--request-timeout", "5"],
                capture_output=True, text=True, cwd=REPO, env=proxied, timeout=60,
            )
            assert result.returncode == 0, (proxy_vars, server, result.stderr)
            assert [key["name"] for key in json.loads(result.stdout)] == ["admin"]
    reliability.passed("hardening", "proxy-loopback", "outcome", 'HTTP_PROXY, http_proxy, ALL_PROXY, all_proxy+HTTPS_PROXY at a dead port: 127.0.0.1 and localhost served directly; other hosts keep the proxy')


def test_other_servers_still_use_the_proxy_from_the_environment() -> None:
    from oz_tui.api.client import OzClient

    for root, trusts in (("https://app.warp.dev", True), ("http://192.0.2.1", True),
                         ("http://127.0.0.1:8787", False), ("http://[::1]:1", False),
                         ("http://localhost:1", False)):
        client = OzClient(root, KEY)
        assert client._http.trust_env is trusts, root


def test_every_failure_line_is_a_single_line() -> None:
    """The regexes above rely on it: no message carries a raw newline."""
    for argv in (["create", "a\nb", "--demo"], ["list", "--server-root-url", "http://h\n"]):
        code, _, err = run(*argv)
        assert code in (1, 2, 3) and err.count("\n") == 1, err  # 3: no API key is set
        assert re.match(r"^oz-keys: ", err)


class _GoneReader(io.StringIO):
    def write(self, _text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize("argv", [["list", "--demo"], ["whoami", "--demo"], ["help"]])
def test_a_reader_that_goes_away_is_not_an_internal_error(argv: list[str]) -> None:
    err = io.StringIO()
    code = cli.run(argv, env={}, stdin=io.StringIO(""), stdout=_GoneReader(), stderr=err)
    assert code == 1 and "internal error" not in err.getvalue() and "Traceback" not in err.getvalue()
