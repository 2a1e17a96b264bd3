"""The one exception type users see: its message is printed as a single line by the CLI."""


class V2AError(Exception):
    """A problem with the user's input, output or settings (not a bug in v2a)."""
