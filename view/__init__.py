"""``ctk view``: a local, read-only web viewer of a cohort, its rationales, the graph and a run.

Open the inputs as a :class:`Viewer` (an :class:`AdmissionIndex` of the cohort and
its rationales, an open graph store, an evaluation run), make the app with
:func:`create_app` and serve it on loopback with :func:`serve`. See ``docs/view.md``.

Example:
    >>> from ctk.kg.stores import StoreOptions, open_store  # doctest: +SKIP
    >>> index = AdmissionIndex.open("cohort", cache_dir="/tmp/v")  # doctest: +SKIP
    >>> with open_store("kg.db", StoreOptions(read_only=True)) as store:  # doctest: +SKIP
    ...     serve(create_app(Viewer(index, store=store)))
"""

from ctk.view.app import create_app
from ctk.view.index import AdmissionIndex, AdmissionRow, IndexSummary
from ctk.view.pages import AdmissionPage, ConceptPage, Viewer
from ctk.view.run import EvalRun, load_eval_run
from ctk.view.serve import check_bind_address, serve

__all__ = [
    "AdmissionIndex",
    "AdmissionPage",
    "AdmissionRow",
    "ConceptPage",
    "EvalRun",
    "IndexSummary",
    "Viewer",
    "check_bind_address",
    "create_app",
    "load_eval_run",
    "serve",
]
