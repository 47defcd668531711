"""Write one SVG per panel state into screenshots/: `python screenshots/make_screenshots.py`.

The states, data, clock and secrets come from tests/support/scenarios.py, the same setup the
snapshot tests use (demo data, FIXED_NOW, deterministic tokens, no cursor blink), so the pictures
are reproducible and match tests/tui/__snapshots__/. The raw key in show-key-once.svg is a test token.

Options: `--only NAME [NAME ...]` writes just those; `--out DIR` writes elsewhere.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "support")]

from scenarios import SCENARIOS, capture_svg  # noqa: E402 - needs the path above


async def write_all(names: set[str] | None, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for scenario in SCENARIOS:
        if names and scenario.name not in names:
            continue
        svg = await capture_svg(scenario)
        path = out / f"{scenario.name}.svg"
        path.write_text(svg, encoding="utf-8")
        written.append(path)
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
              f"{scenario.description} ({scenario.size[0]}x{scenario.size[1]})")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        choices=[scenario.name for scenario in SCENARIOS])
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)
    written = asyncio.run(write_all(set(args.only) if args.only else None, args.out))
    return 0 if written else 1


if __name__ == "__main__":
    raise SystemExit(main())
