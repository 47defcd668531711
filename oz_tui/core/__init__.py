"""Rules without I/O and without Textual: shared by the service, the direct adapter and the UI."""
