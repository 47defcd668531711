"""`python -m oz_tui`: the same as the `oz-keys` command."""

from oz_tui.cli import main

if __name__ == "__main__":
    main()
