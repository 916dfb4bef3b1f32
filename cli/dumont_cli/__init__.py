"""The `dumont` command."""
