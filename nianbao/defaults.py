"""Defaults the command line shows and the library uses alike, in a module that imports nothing: the CLI
builds its parser (and a batch starts its workers' fork server) before it imports what runs a command."""

DEFAULT_URL = "sqlite:///nianbao.db"  # the store a command opens without --db
