"""Command line: ``flowcheck [--version] <command> ...``; ``main.py`` builds the parser and
dispatches, ``args.py`` holds the shared arguments and exit codes, one module per command.
Empty on purpose: importing ``flowcheck.cli.args`` (as ``flowcheck.reference.cli`` does)
loads nothing else."""
