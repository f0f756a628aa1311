"""The viewer's web app: Starlette routes over :class:`~ctk.view.pages.Viewer`, Jinja2 pages.

Every page is rendered on the server with autoescaping on, so a note, a rationale
or a PubMed sentence holding ``<script>`` shows as text. Only GET requests are
served; nothing is written anywhere. The handlers are coroutines that read the
inputs on the event loop's thread: one page at a time (a page takes milliseconds),
and the SQLite connections of the index and the embedded store are never used by
two threads at once. Pages:

``/admissions`` (the list, filtered and paged), ``/admissions/{id}`` (one
admission), ``/facts?id=`` (one fact), ``/concepts?id=`` (one concept's
neighbourhood), ``/run`` (the evaluation report) and ``/run/{plot}.png``.
"""

from __future__ import annotations

import logging
import time
from importlib import resources
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FunctionLoader, StrictUndefined, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from ctk.phenotypes import PHENOTYPE_NAMES
from ctk.view.graph_plot import RELATION_COLOURS, neighbourhood_svg
from ctk.view.pages import Viewer
from ctk.view.run import PLOT_FILES

__all__ = ["LOOPBACK_NAMES", "PAGE_SIZE", "SECURITY_HEADERS", "create_app"]

logger = logging.getLogger(__name__)

#: Admissions per page of the list.
PAGE_SIZE = 50
#: Host names a loopback viewer answers to; any other ``Host`` header is refused (a web page
#: elsewhere cannot reach the viewer through DNS rebinding).
LOOPBACK_NAMES: tuple[str, ...] = ("127.0.0.1", "localhost", "::1", "[::1]")
#: Sent with every response: no script may run (the pages need none), no page may frame
#: them, and a click on a PubMed link does not tell PubMed which admission it came from.
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_STATUSES = ("ok", "failed", "rejected", "none")
_SPLITS = ("train", "val", "test")


def admission_url(admission_id: str) -> str:
    """Link of an admission's page."""
    return "/admissions/" + quote(admission_id, safe="")


def fact_url(fact_id: str) -> str:
    """Link of a fact's page."""
    return "/facts?" + urlencode({"id": fact_id})


def concept_url(concept_id: str) -> str:
    """Link of a concept's page."""
    return "/concepts?" + urlencode({"id": concept_id})


def _load_template(name: str) -> str:
    return resources.files("ctk.view.templates").joinpath(name).read_text(encoding="utf-8")


def _environment() -> Environment:
    env = Environment(
        loader=FunctionLoader(_load_template),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        admission_url=admission_url,
        fact_url=fact_url,
        concept_url=concept_url,
        relation_colours=RELATION_COLOURS,
    )
    env.filters["pct"] = lambda v: "–" if v is None else f"{100 * v:.0f}%"
    env.filters["num"] = lambda v: "–" if v is None else f"{v:.3f}"
    return env


def _int(request: Request, name: str, default: int, *, low: int = 0) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return min(max(low, int(raw)), 10**9)  # SQLite integers stop at 2**63
    except ValueError:
        raise HTTPException(400, f"{name} must be a whole number") from None


def create_app(
    viewer: Viewer, *, title: str = "ctk view", hosts: tuple[str, ...] = LOOPBACK_NAMES
) -> Starlette:
    """The web app over an open :class:`Viewer`.

    Args:
        viewer: The inputs.
        title: Shown in every page's header.
        hosts: The host names it answers to (``Host`` header); loopback names by default.

    Example:
        >>> import uvicorn  # doctest: +SKIP
        >>> uvicorn.run(create_app(viewer), host="127.0.0.1", port=8000)  # doctest: +SKIP
    """
    env = _environment()
    env.globals.update(
        title=title,
        has_graph=viewer.store is not None,
        has_run=viewer.run is not None,
        has_rationales=viewer.index.rationale_path is not None,
    )

    def render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        t0 = time.perf_counter()
        html = env.get_template(name).render(**context)
        logger.debug("rendered %s in %.1f ms", name, 1000 * (time.perf_counter() - t0))
        return HTMLResponse(html, status_code=status_code)

    async def home(request: Request) -> Response:
        return RedirectResponse("/admissions", status_code=302)

    async def admissions(request: Request) -> Response:
        wanted = request.query_params.get("id", "").strip()
        if wanted:  # the header's "admission id" box
            return RedirectResponse(admission_url(wanted), status_code=302)
        phenotype = request.query_params.get("phenotype") or None
        split = request.query_params.get("split") or None
        status = request.query_params.get("status") or None
        if phenotype is not None and phenotype not in PHENOTYPE_NAMES:
            raise HTTPException(400, f"unknown phenotype {phenotype!r}")
        if split is not None and split not in _SPLITS:
            raise HTTPException(400, f"unknown split {split!r}")
        if status is not None and status not in _STATUSES:
            raise HTTPException(400, f"unknown status {status!r}")
        page_no = _int(request, "page", 1, low=1)
        page = viewer.list_page(
            phenotype=phenotype,
            split=split,
            status=status,
            offset=(page_no - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
        last = max(1, (page.total + PAGE_SIZE - 1) // PAGE_SIZE)
        filters = {
            k: v for k, v in (("phenotype", phenotype), ("split", split), ("status", status)) if v
        }

        def page_url(n: int) -> str:
            return "/admissions?" + urlencode({**filters, "page": n})

        return render(
            "admissions.html.jinja",
            page=page,
            page_no=page_no,
            last_page=last,
            page_url=page_url,
            filters=filters,
            phenotypes=PHENOTYPE_NAMES,
            splits=_SPLITS,
            statuses=_STATUSES,
            summary=viewer.index.summary,
        )

    async def admission(request: Request) -> Response:
        admission_id = request.path_params["admission_id"]
        page = viewer.admission_page(admission_id)
        if page is None:
            raise HTTPException(404, f"no admission {admission_id!r} in this cohort")
        truth = set(page.admission.phenotypes)
        predicted = set(page.prediction.predicted) if page.prediction is not None else set()
        explained = (
            set(page.rationale.diagnoses)
            if page.rationale is not None and page.rationale.status == "ok"
            else set()
        )
        shown = truth | predicted | explained
        diagnoses = [p for p in PHENOTYPE_NAMES if p in shown]
        diagnoses += sorted(shown - set(diagnoses))  # names outside the 25, as written
        return render(
            "admission.html.jinja",
            page=page,
            truth=truth,
            predicted=predicted,
            diagnoses=diagnoses,
        )

    async def fact(request: Request) -> Response:
        fact_id = request.query_params.get("id", "")
        if viewer.store is None:
            raise HTTPException(404, "no knowledge graph was given (ctk view --store)")
        view = viewer.fact(fact_id)
        if view is None:
            raise HTTPException(404, f"no fact {fact_id!r} in the graph")
        citing, cited_by = viewer.index.citing(view.relation.id)
        return render(
            "fact.html.jinja",
            fact=view,
            min_count=viewer.min_count,
            citing=citing,
            cited_by=cited_by,
        )

    async def concept(request: Request) -> Response:
        concept_id = request.query_params.get("id", "")
        if viewer.store is None:
            raise HTTPException(404, "no knowledge graph was given (ctk view --store)")
        floor = _int(request, "min_count", viewer.min_count, low=1)
        page = viewer.concept_page(concept_id, min_count=floor)
        if page is None:
            raise HTTPException(404, f"no concept {concept_id!r} in the graph")
        svg = neighbourhood_svg(
            page.concept, page.neighbours, concept_url=concept_url, fact_url=fact_url
        )
        return render("concept.html.jinja", page=page, svg=svg)

    async def run(request: Request) -> Response:
        if viewer.run is None:
            raise HTTPException(404, "no evaluation folder was given (ctk view --eval)")
        return render("run.html.jinja", run=viewer.run)

    async def run_plot(request: Request) -> Response:
        name = request.path_params["name"] + ".png"
        if viewer.run is None or name not in PLOT_FILES or name not in viewer.run.plots:
            raise HTTPException(404, f"no plot {name!r}")
        return FileResponse(viewer.run.folder / name, media_type="image/png")

    async def favicon(request: Request) -> Response:
        return Response(status_code=204)  # no icon, and no 404 in the browser's console

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return render(
            "error.html.jinja",
            status_code=exc.status_code,
            status=exc.status_code,
            detail=exc.detail,
        )

    class _SecurityHeaders:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            async def send_with_headers(message: Any) -> None:
                if message["type"] == "http.response.start":
                    headers = list(message.get("headers", []))
                    headers += [
                        (k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()
                    ]
                    message = {**message, "headers": headers}
                await send(message)

            await self.app(scope, receive, send_with_headers)

    return Starlette(
        middleware=[
            Middleware(TrustedHostMiddleware, allowed_hosts=list(hosts)),
            Middleware(_SecurityHeaders),
        ],
        routes=[
            Route("/", home),
            Route("/admissions", admissions),
            Route("/admissions/{admission_id:path}", admission),
            Route("/facts", fact),
            Route("/concepts", concept),
            Route("/run", run),
            Route("/run/{name}.png", run_plot),
            Route("/favicon.ico", favicon),
        ],
        exception_handlers={HTTPException: http_error},
    )
