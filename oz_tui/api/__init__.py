"""The thin async client for Warp's API key operations (httpx): the operations, one HTTP exchange,
what a failure means, retries, and reading answers bounded. Its models and errors live in
`oz_tui.core`. No Textual imports."""
