"""The ``ctk`` command line: thin Typer commands over the library."""
