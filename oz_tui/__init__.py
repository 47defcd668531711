"""oz-keys: manage Warp's Oz Cloud API keys from the terminal."""

__version__ = "0.1.0"
