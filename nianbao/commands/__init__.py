"""The bodies of the ``nianbao`` sub-commands, a module per group; ``nianbao/cli.py`` holds the parser that
names them, their options and help."""
