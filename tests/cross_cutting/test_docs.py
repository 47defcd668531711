"""The README and docs/ must stay true: every runnable block runs, every relative link resolves.

A fenced block preceded by `<!-- runnable -->` (shell) or `<!-- runnable-python -->` (Python) is
run here, in a fresh HOME with no credential, against the embedded local key service.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = sorted([README, ROOT / "CHANGELOG.md", *(ROOT / "docs").glob("*.md")])
QUICK_START = (
    "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/oz-keys",
    "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/pytest",
)
BLOCK = re.compile(r"<!-- (runnable(?:-[a-z]+)?) -->\n```(\w+)\n(.*?)```", re.S)
LINK = re.compile(r"\]\(([^)\s]+)\)")


def blocks(kind: str) -> list[tuple[Path, str]]:
    found = []
    for doc in DOCS:
        for marker, _lang, body in BLOCK.findall(doc.read_text(encoding="utf-8")):
            if marker == kind:
                found.append((doc, body))
    return found


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WARP_", "XDG_", "OZ_"))}
    env.update(
        HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"), XDG_STATE_HOME=str(home / ".local/state"),
        XDG_CACHE_HOME=str(home / ".cache"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def test_the_readme_fits_in_12_kb() -> None:
    assert README.stat().st_size <= 12 * 1024, README.stat().st_size


def test_the_readme_keeps_the_two_quick_start_commands() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    for command in QUICK_START:
        assert command in lines, command


def test_there_are_runnable_blocks() -> None:
    assert blocks("runnable"), "no <!-- runnable --> shell block"
    assert blocks("runnable-python"), "no <!-- runnable-python --> block (the Pilot example)"


def _run(kind: str, body: str, home: Path) -> subprocess.CompletedProcess[str]:
    home.mkdir()
    argv = ["bash", "-euo", "pipefail", "-c", body] if kind == "runnable" else [
        sys.executable, "-c", body]
    return subprocess.run(argv, cwd=home, env=clean_env(home), capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)


def test_every_runnable_block_runs(tmp_path: Path) -> None:
    cases = [(kind, doc, body) for kind in ("runnable", "runnable-python")
             for doc, body in blocks(kind)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda c: _run(c[0], c[2], tmp_path / f"home{c[3]}"),
                                [(*case, i) for i, case in enumerate(cases)]))
    for (kind, doc, body), done in zip(cases, results):
        assert done.returncode == 0, (
            f"{doc.name}: block failed ({done.returncode}):\n{body}\n--- stderr:\n{done.stderr}")


def test_the_readme_minimal_config_is_valid(tmp_path: Path) -> None:
    from oz_tui.config import load_config

    text = README.read_text(encoding="utf-8")
    section = text[text.index("## A minimal config"):]
    start = section.index("```toml\n") + len("```toml\n")
    cfg = tmp_path / "config.toml"
    cfg.write_text(section[start:section.index("```", start)], encoding="utf-8")
    config = load_config(cfg)
    assert config.keymap, "the minimal config's [keymap] was not read"


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(doc: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", doc.read_text(encoding="utf-8"), flags=re.S)
    return {slug(m) for m in re.findall(r"^#+ (.+)$", text, re.M)}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(doc: Path) -> None:
    text = re.sub(r"```.*?```", "", doc.read_text(encoding="utf-8"), flags=re.S)
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        resolved = (doc.parent / path).resolve() if path else doc
        if not resolved.exists():
            broken.append(target)
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(target)
    assert not broken, f"{doc.name}: broken links {broken}"


def test_docs_has_the_seven_topics() -> None:
    for name in ("panel", "cli", "configuration", "local-service", "security", "performance",
                 "reliability"):
        assert (ROOT / "docs" / f"{name}.md").is_file(), name


def test_the_settings_table_names_every_config_key_and_variable() -> None:
    from oz_tui import config

    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    table = text[text.index("## Every setting"):]
    table = table[:table.index("\n\n", table.index("| Setting"))]
    for key in config.CONFIG_KEYS:
        cell = "`[keymap]`" if key == "keymap" else f"`{key}`"
        assert cell in table, key
    for name in dir(config):
        if name.startswith("ENV_"):
            assert f"`{getattr(config, name)}`" in table, name


def test_the_settings_table_is_the_one_the_settings_generate() -> None:
    from oz_tui.settings.table import doc_table

    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    start = text.index("| Setting |")
    table = text[start:text.index("\n\n", start) + 1]
    assert table == doc_table(), (
        "docs/configuration.md's settings table differs from oz_tui/settings/table.py; "
        "paste this in its place:\n" + doc_table())


def test_the_readme_snapshot_example_stores_then_matches_a_picture(tmp_path: Path) -> None:
    (body,) = [b for m, _l, b in BLOCK.findall(README.read_text(encoding="utf-8"))
               if m == "runnable-snapshot"]
    (tmp_path / "test_example.py").write_text(body, encoding="utf-8")
    env = clean_env(tmp_path / "home")
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
            str(tmp_path), "test_example.py"]
    stored = subprocess.run([*argv, "--snapshot-update"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert stored.returncode == 0, stored.stdout + stored.stderr
    assert list(tmp_path.rglob("*.svg")), "no snapshot stored"
    # The same test, run again, compares with the stored picture and passes.
    compared = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=120)
    assert compared.returncode == 0, compared.stdout + compared.stderr


def test_the_limits_table_is_the_code_s_limits() -> None:
    from oz_tui.local import service, serving
    from oz_tui.local.limits import Limits, QueryLimits, ServerLimits, markdown_table

    # What `serve` runs with is what the table shows.
    assert serving.SERVER_LIMITS == ServerLimits()
    served = service.LocalService(in_memory=True)
    try:
        assert (served.limits, served.query_limits) == (Limits(), QueryLimits())
    finally:
        served.close()
    text = (ROOT / "docs" / "local-service.md").read_text(encoding="utf-8")
    start, end = "<!-- limits:start -->\n", "\n<!-- limits:end -->"
    table = text[text.index(start) + len(start):text.index(end)]
    assert table == markdown_table(ServerLimits(), Limits(), QueryLimits())
