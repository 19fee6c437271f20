"""agentops.console: the CLI and the Textual operations console."""
