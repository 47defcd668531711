"""`oz-keys completion bash|zsh|fish`: the scripts, and bash completing from the real parser.

The bash test sources the printed script in a real bash and calls the completion function the
script registers, the way bash does on Tab, with the installed `oz-keys` on PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
TIMEOUT = 60

pytestmark = pytest.mark.skipif(not (BIN / "oz-keys").exists(), reason="oz-keys not installed")


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WARP_", "OZ_KEYS_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(tmp_path)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    return env


def _script(shell: str, tmp_path: Path) -> str:
    done = subprocess.run([str(BIN / "oz-keys"), "completion", shell], capture_output=True,
                          text=True, env=_env(tmp_path), timeout=TIMEOUT, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


# Completes the line "$1" the way bash does on Tab: COMP_* set, then the registered function.
BASH_DRIVER = r"""
source "$SCRIPT"
spec=$(complete -p oz-keys) || exit 3
function=$(sed -E 's/.* -F ([^ ]+) .*/\1/' <<< "$spec")
COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}
read -ra COMP_WORDS <<< "$COMP_LINE"
[[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMPREPLY=()
"$function" oz-keys "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"""


@pytest.fixture
def bash_complete(tmp_path: Path):
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    script = tmp_path / "oz-keys.bash"
    script.write_text(_script("bash", tmp_path), encoding="utf-8")

    def complete(line: str) -> list[str]:
        done = subprocess.run(
            [bash, "--norc", "--noprofile", "-c", BASH_DRIVER, "driver", line],
            capture_output=True, text=True, timeout=TIMEOUT, check=False,
            env={**_env(tmp_path), "SCRIPT": str(script)},
        )
        assert done.returncode == 0, done.stderr
        return [word.strip() for word in done.stdout.splitlines() if word.strip()]

    return complete


def test_bash_completes_a_subcommand(bash_complete) -> None:
    assert bash_complete("oz-keys li") == ["list"]
    assert bash_complete("oz-keys comp") == ["completion"]
    words = bash_complete("oz-keys ")
    for name in ("list", "create", "expire", "delete", "whoami", "serve", "completion", "help"):
        assert name in words
    assert not [word for word in words if word.startswith("-")]  # options only after a dash


def test_bash_completes_options_of_the_subcommand(bash_complete) -> None:
    assert bash_complete("oz-keys list --sort") == ["--sort-by", "--sort-order"]
    create = bash_complete("oz-keys create ci --ex")
    assert set(create) == {"--expires-in", "--expires-at"}
    # The global options a subcommand takes, and not those it doesn't.
    assert "--request-timeout" in bash_complete("oz-keys whoami --")
    assert "--demo" not in bash_complete("oz-keys serve --")


def test_bash_completes_fixed_choices(bash_complete) -> None:
    assert bash_complete("oz-keys list --sort-by ") == [
        "name", "created-at", "last-used-at", "expires-at", "scope",
    ]
    assert bash_complete("oz-keys list --sort-order d") == ["desc"]
    assert bash_complete("oz-keys list -o nd") == ["ndjson"]
    assert bash_complete("oz-keys create ci --expires-in ") == [
        "90d", "30d", "1d", "1w", "12h", "1y",
    ]
    assert bash_complete("oz-keys completion ") == ["bash", "zsh", "fish"]
    assert "create" in bash_complete("oz-keys help ")


def test_zsh_and_fish_scripts_register_oz_keys(tmp_path: Path) -> None:
    zsh = _script("zsh", tmp_path)
    assert zsh.startswith("#compdef oz-keys")
    fish = _script("fish", tmp_path)
    assert "complete --command oz-keys" in fish or "complete -c oz-keys" in fish
    assert "_ARGCOMPLETE" in zsh and "_ARGCOMPLETE" in fish


def test_an_unknown_shell_is_one_line_naming_the_nearest(tmp_path: Path) -> None:
    done = subprocess.run([str(BIN / "oz-keys"), "completion", "ksh"], capture_output=True,
                          text=True, env=_env(tmp_path), timeout=TIMEOUT, check=False)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        "oz-keys: SHELL: invalid choice 'ksh'; did you mean 'zsh'? "
        "(see 'oz-keys completion --help')\n"
    )
