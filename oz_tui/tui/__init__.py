"""The full-screen panel (Textual). Imported only when the panel opens."""
