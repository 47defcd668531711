"""oz-keys' settings: one table (`table`), their checks, the config file, and their resolution.
oz_tui/config.py names what the rest of the package uses."""
