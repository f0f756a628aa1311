"""Build engines: where the per-file work of ``ctk kg build`` runs.

* ``local`` (:class:`~ctk.kg.engines.local.LocalEngine`): this process or a pool
  of worker processes on this machine.
* ``ray`` (:class:`~ctk.kg.engines.ray.RayEngine`): Ray actors on a local Ray or
  an existing cluster (``pip install "clinragen-toolkit[ray]"``).

Both run the same units (:mod:`ctk.kg.engines.work`) and give the same graph.
"""

from __future__ import annotations

from ctk.errors import ConfigError
from ctk.kg.engines.work import BuildEngine, BuildWorkerError, WorkUnit, run_unit

__all__ = ["ENGINES", "BuildEngine", "BuildWorkerError", "WorkUnit", "make_engine", "run_unit"]

#: Engine names (``--engine``).
ENGINES = ("local", "ray")


def make_engine(
    name: str, *, workers: int | None = None, ray_address: str | None = None
) -> BuildEngine:
    """The engine called ``name``.

    Args:
        name: ``local`` or ``ray``.
        workers: Worker processes or Ray actors (None: every core / every cluster CPU).
        ray_address: The Ray cluster to join (``auto``, ``ray://head:10001``); ``ray`` only.

    Raises:
        ConfigError: An unknown name, or a Ray address for the local engine.
    """
    if name == "local":
        if ray_address is not None:
            raise ConfigError(
                "a Ray address was given for the local engine",
                hint="add --engine ray, or leave out --ray-address",
            )
        from ctk.kg.engines.local import LocalEngine

        return LocalEngine(workers)
    if name == "ray":
        from ctk.kg.engines.ray import RayEngine

        return RayEngine(workers, address=ray_address)
    raise ConfigError(f"unknown build engine {name!r}", hint="use one of: " + ", ".join(ENGINES))
