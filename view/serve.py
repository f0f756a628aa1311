"""Serving the viewer: the bind address policy and the server itself.

The viewer shows notes, which MIMIC's data use agreement keeps on credentialed
people's machines: it binds to loopback unless the user consents explicitly,
through the same policy (and the same ``--allow-remote`` flag) as the LLM backends
(:func:`ctk.teacher.backend.check_remote_consent`).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

from starlette.applications import Starlette

from ctk.errors import ConfigError
from ctk.teacher.backend import check_remote_consent, is_loopback_url

__all__ = ["check_bind_address", "serve", "viewer_url"]

logger = logging.getLogger(__name__)


def viewer_url(host: str, port: int) -> str:
    """The URL a browser opens for ``host:port`` (IPv6 hosts bracketed)."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}/"


def check_bind_address(host: str, *, allow_remote: bool) -> None:
    """Refuse an address other machines can reach unless ``allow_remote``.

    Raises:
        DataPolicyError: ``host`` is not a loopback address and remote use is not allowed.
    """
    if is_loopback_url(viewer_url(host, 1)):
        return
    check_remote_consent(
        f"whoever can reach {host}",
        sender="serving the viewer on a non-loopback address",
        allow_remote=allow_remote,
        local_option="keep the default --host 127.0.0.1 (an SSH tunnel reaches it from elsewhere)",
    )


def serve(
    app: Starlette,
    *,
    host: str = "127.0.0.1",
    port: int = 8040,
    allow_remote: bool = False,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Run the viewer until Ctrl-C (blocking).

    Args:
        app: The app (:func:`ctk.view.app.create_app`).
        host: Bind address (loopback by default).
        port: Port (0: a free one).
        allow_remote: Consent to serving notes on a non-loopback address.
        on_ready: Called with the URL once the server listens.

    Raises:
        DataPolicyError: A non-loopback ``host`` without ``allow_remote``.
        ConfigError: The address cannot be bound (port taken).
    """
    import uvicorn

    check_bind_address(host, allow_remote=allow_remote)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as e:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port} ({e.strerror})",
            hint="pick another --port (0 picks a free one)",
        ) from e
    sock.listen(128)  # connections wait in the backlog until the server accepts them
    url = viewer_url(host, int(sock.getsockname()[1]))
    if on_ready is not None:
        on_ready(url)
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
