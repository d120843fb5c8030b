"""The tribe-sync page, mounted at ``/tribe-sync``: ``GET /`` (HTML; Airflow's navigation links
it as "Tribe sync"), ``GET /api/{integration}`` (the same data as JSON),
``POST /api/quarantine/{id}/retry``, ``…/dismiss`` and ``…/match`` (a match by number held for
its names: link anyway / create new), and ``POST /api/{integration}/map-code`` (an unmapped
code: add its one key to the settings Variable and retry every record held for it).

Authentication is Airflow's own: the dependency the public API uses (a bearer token, or the UI's
session cookie, which the page's iframe sends because it is the same origin) — no request gets
data without a logged-in user (401). Actions also need the user's permission to trigger runs of
the DAG concerned (403 otherwise); map-code of every DAG of the integration, as a setting
changes what all of them do. They take a JSON body, so a form on another site cannot
trigger them with the user's cookie (a cross-site form can only send form encodings; JSON would
need a CORS preflight this app never answers).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from tribe_operators.ui import actions, chains, data

__all__ = ["create_app"]

HERE = Path(__file__).parent
ICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="currentColor" '
        'stroke-width="2"><path d="M4 12a8 8 0 0 1 14-5.3M20 12a8 8 0 0 1-14 5.3"/>'
        '<path d="M18 3v4h-4M6 21v-4h4"/></svg>')


class ActionBody(BaseModel):
    """An action's body: ``{}`` (JSON is what keeps cross-site forms out)."""

    model_config = ConfigDict(extra="forbid")


class MapCodeBody(ActionBody):
    """Map it: ``code`` of the setting ``setting`` (e.g. ``vat_map``) → ``target``."""

    setting: str
    code: str
    target: str


class MatchBody(ActionBody):
    """A match by number held for its names: link to the record anyway, or create a new one."""

    choice: Literal["link", "create"]


def _engine() -> Any:
    from tribe_operators.store.engine import DEFAULT_CONN_ID, engine_for

    return engine_for(DEFAULT_CONN_ID)


def _page_data(integration: str) -> dict[str, Any]:
    engine = _engine()
    runs = data.recent_runs(engine, integration)
    rows = data.open_quarantine(engine, integration)
    groups = data.quarantine_groups(engine, integration, rows)
    for group in groups:
        action = group["action"] or {}
        if action.get("kind") == "unmapped_code":
            group["choices"] = _code_choices(integration, str(action.get("setting")), bool(action.get("reverse")))
    settings, settings_error = data.settings_sources(integration)
    return {"integration": integration, "runs": runs, "last_run": data.last_run(runs), "quarantine": rows,
            "quarantine_groups": groups, "ledger": data.ledger(engine, integration),
            "totals": data.totals(engine, integration), "watermarks": data.watermarks(engine, integration),
            "settings": settings, "settings_error": settings_error, "token_chains": chains.token_chains(integration)}


def _code_choices(integration: str, setting: str, reverse: bool) -> list[str]:
    """The codes ``setting`` maps to already (``reverse``: from), offered to pick; another may be typed."""
    from tribe_operators.ui import decisions

    try:
        return list(decisions.code_choices(integration, setting, reverse=reverse))
    except Exception:  # noqa: BLE001 - broken settings (shown below on the page): type the code instead
        return []


def run_link(root: str, dag_id: str, run_id: str) -> str:
    """The run's page in Airflow's UI (``root``: where Airflow is served, usually "")."""
    return f"{root}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def _may_trigger(user: Any, dag_id: str | None) -> bool:
    """May ``user`` start runs of ``dag_id``? Of every DAG when the DAG is not known (a row no run
    recorded): an action on it is then a privilege of those who may start any run."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

    details = DagDetails(id=dag_id) if dag_id is not None else None
    return get_auth_manager().is_authorized_dag(method="POST", access_entity=DagAccessEntity.RUN,
                                                details=details, user=user)


def create_app() -> FastAPI:
    """Built on the first request, inside Airflow's API server (where its auth manager lives)."""
    import jinja2
    from airflow.api_fastapi.core_api.security import get_user

    from tribe_operators.ui.chart import COLOURS, runs_chart

    templates = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE), autoescape=True)
    app = FastAPI(title="tribe-sync page", docs_url=None, redoc_url=None, openapi_url=None)

    def known(integration: str) -> str:
        if integration not in data.integrations():
            raise HTTPException(404, f"no integration {integration!r} is set up "
                                     "(include/mappings/<name>/settings.yaml)")
        return integration

    @app.get("/static/icon.svg", include_in_schema=False)
    async def icon() -> Response:  # the nav entry's icon: no data, no login needed
        return Response(ICON, media_type="image/svg+xml")

    @app.get("/", response_class=HTMLResponse)
    async def page(request: Request, integration: str | None = None, user: Any = Depends(get_user)) -> HTMLResponse:
        names = data.integrations()
        chosen = known(integration) if integration else await run_in_threadpool(data.ran_last, _engine(), names)
        found = await run_in_threadpool(_page_data, chosen) if chosen else None
        root = _airflow_root(request)
        html = templates.get_template("page.html").render(
            integrations=names, chosen=chosen, d=found, chart=runs_chart(found["runs"]) if found else "",
            colours=COLOURS, user=user.get_name(), base=str(request.scope.get("root_path", "")), airflow=root,
            run_link=lambda dag_id, run_id: run_link(root, dag_id, run_id))
        return HTMLResponse(html)

    @app.get("/api/{integration}")
    async def overview(integration: str, user: Any = Depends(get_user)) -> JSONResponse:
        found = await run_in_threadpool(_page_data, known(integration))
        return JSONResponse(_jsonable(found))

    async def _row(row_id: int, user: Any) -> tuple[Any, dict[str, Any]]:
        engine = _engine()
        row = await run_in_threadpool(data.quarantine_row, engine, row_id)
        if row is None:
            raise HTTPException(404, f"no quarantine row {row_id}")
        dag_id = await run_in_threadpool(data.run_dag, engine, row["run_id"])
        if not _may_trigger(user, dag_id):
            raise HTTPException(403, f"{user.get_name()} may not start runs of {dag_id or 'every DAG'}")
        return engine, row

    @app.post("/api/quarantine/{row_id}/retry")
    async def retry(row_id: int, body: ActionBody, request: Request, user: Any = Depends(get_user)) -> JSONResponse:
        engine, row = await _row(row_id, user)
        try:
            # The user itself, not its name: clearing an invoice's task also asks its permission.
            started = await run_in_threadpool(actions.retry, engine, row, user)
        except actions.ActionRefused as exc:
            raise HTTPException(409, str(exc)) from exc
        return JSONResponse({"status": "started", **started, "record_id": row["record_id"],
                             "url": run_link(_airflow_root(request), started["dag_id"], started["run_id"])})

    @app.post("/api/quarantine/{row_id}/dismiss")
    async def dismiss(row_id: int, body: ActionBody, user: Any = Depends(get_user)) -> JSONResponse:
        engine, row = await _row(row_id, user)
        closed = await run_in_threadpool(actions.dismiss, engine, row, user.get_name())
        return JSONResponse({"status": "dismissed" if closed else "already closed", "record_id": row["record_id"],
                             "dismissed_by": user.get_name()})

    @app.post("/api/quarantine/{row_id}/match")
    async def match(row_id: int, body: MatchBody, request: Request, user: Any = Depends(get_user)) -> JSONResponse:
        from tribe_operators.ui import decisions

        engine, row = await _row(row_id, user)
        try:
            started = await run_in_threadpool(decisions.decide_match, engine, row, body.choice, user)
        except actions.ActionRefused as exc:
            raise HTTPException(409, str(exc)) from exc
        return JSONResponse({"status": "started", "choice": body.choice, **started, "record_id": row["record_id"],
                             "url": run_link(_airflow_root(request), started["dag_id"], started["run_id"])})

    @app.post("/api/{integration}/map-code")
    async def map_code(integration: str, body: MapCodeBody, request: Request,
                       user: Any = Depends(get_user)) -> JSONResponse:
        from tribe_operators.ui import decisions

        engine = _engine()
        known(integration)
        dags = await run_in_threadpool(data.integration_dags, engine, integration)
        refused = [d for d in dags or [None] if not _may_trigger(user, d)]
        if refused:
            raise HTTPException(403, f"{user.get_name()} may not start runs of "
                                     f"{', '.join(d or 'every DAG' for d in refused)}")
        try:
            done = await run_in_threadpool(decisions.map_code, engine, integration, body.setting, body.code,
                                           body.target, user)
        except actions.ActionRefused as exc:
            raise HTTPException(409, str(exc)) from exc
        root = _airflow_root(request)
        runs = [{**r, "url": run_link(root, r["dag_id"], r["run_id"])} for r in done.get("runs", [])]
        return JSONResponse(_jsonable({"status": "mapped", **done, "runs": runs}))

    return app


def _airflow_root(request: Request) -> str:
    """Where Airflow itself is served (its UI's run pages are under it): the outermost app's root."""
    return str(request.scope.get("app_root_path", "")).rstrip("/")


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))
