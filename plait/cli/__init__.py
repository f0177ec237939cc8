"""The ``plait`` command line: ``plait.cli.main`` holds the app and the list of commands."""
