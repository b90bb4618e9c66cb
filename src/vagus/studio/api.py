"""The Studio's JSON endpoints, mounted on a server under /studio (guarded like /status: the API key
when one is set). The page uses them and so can the CLI and tests:

    GET  /studio/api/schema           the config's JSON schema, each provider's own section schema
    GET  /studio/api/config           the file: path, values, text, sha256, whether it can be saved
    POST /studio/api/validate         {"data"} → errors at their fields
    POST /studio/api/diff             {"data"} → the unified diff a save would write, and errors
    POST /studio/api/save             {"data", "sha256"} → written (409: changed on disk; 422: errors)
    GET  /studio/api/history          earlier versions; GET …/history/{version} one's text
    POST /studio/api/restore          {"version"} → put it back
    GET  /studio/api/tools            the tools an agent can use (built-in skills; a Python agent's own)
    POST /studio/api/flow/validate    {"flow"} → the loader's errors for a flow
    POST /studio/api/evals            run a suite on the saved config (studio/evals.py); GET: the runs
    GET  /studio/api/evals/{run}/winner   the config with the run's best combination laid over it
    GET  /studio/api/recordings       recorded sessions (`recording:`, off by default), newest first
    GET  /studio/api/recordings/{id}  one's summary and events; …/{id}/audio its WAV; DELETE removes it

A save applies to the next session without a restart (`on_saved`); sessions already live keep theirs.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from aiohttp import web

from vagus.agent.recordings import NoRecording, Recordings
from vagus.config import AgentConfig, ConfigError
from vagus.registry import KINDS, provider_names, provider_spec
from vagus.studio.document import ConfigDocument, Conflict, FieldError, digest, validate
from vagus.studio.evals import EvalRuns

log = logging.getLogger("vagus.studio")

MAX_BODY_BYTES = 1_000_000
STATIC_TYPES = {".js": "application/javascript", ".css": "text/css", ".html": "text/html", ".txt": "text/plain"}


class Studio:
    """What the Studio edits: one agent file (None: a Python agent or no file — shown, not saved)."""

    def __init__(
        self,
        document: ConfigDocument | None,
        config: AgentConfig,
        agent: Any = None,
        on_saved: Callable[[AgentConfig], Awaitable[None]] | None = None,
    ) -> None:
        self.document, self.config, self.agent, self.on_saved = document, config, agent, on_saved
        self.evals = EvalRuns(document.path) if document is not None else None

    @property
    def recordings(self) -> Recordings:
        """Where the config now in use records sessions (a save that moves it shows the new folder)."""
        return Recordings(self.config.recording.path)


STUDIO_KEY = web.AppKey("studio", Studio)


def schema() -> dict[str, Any]:
    providers = {
        kind: {
            name: {"description": provider_spec(kind, name).description,
                   "schema": provider_spec(kind, name).config.model_json_schema()}
            for name in provider_names(kind)
        }
        for kind in KINDS
    }  # fmt: skip
    defaults = AgentConfig().model_dump(mode="json")
    return {"config": AgentConfig.model_json_schema(), "providers": providers, "defaults": defaults}


def _studio(request: web.Request) -> Studio:
    return request.app[STUDIO_KEY]


def _guard(request: web.Request) -> web.Response | None:
    from vagus.server.app import _operator_only

    return _operator_only(request, "the Studio")


def _error(status: int, message: str, **more: Any) -> web.Response:
    return web.json_response({"error": {"message": message, **more}}, status=status)


async def _body(request: web.Request) -> dict[str, Any]:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise _BadRequest(413, f"request body too large (limit {MAX_BODY_BYTES} bytes)")
    try:
        body = json.loads(await request.read() or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, ValueError):
        raise _BadRequest(400, "body must be JSON") from None
    if not isinstance(body, dict):
        raise _BadRequest(400, "body must be a JSON object")
    return body


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _data(body: dict[str, Any]) -> dict[str, Any]:
    data = body.get("data")
    if not isinstance(data, dict):
        raise _BadRequest(400, 'field "data" must be the config as an object')
    return data


def guarded(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def run(request: web.Request) -> web.StreamResponse:
        refused = _guard(request)
        if refused is not None:
            return refused
        try:
            return await handler(request)
        except _BadRequest as exc:
            return _error(exc.status, str(exc))
        except ConfigError as exc:
            return _error(422, str(exc))
        except NoRecording as exc:
            return _error(404, str(exc))

    return run


def _errors(errors: list[FieldError]) -> list[dict[str, str]]:
    return [e.to_dict() for e in errors]


async def get_schema(request: web.Request) -> web.Response:
    return web.json_response(schema())


async def get_config(request: web.Request) -> web.Response:
    studio = _studio(request)
    if studio.document is None:
        data = studio.config.model_dump(mode="json", exclude_defaults=True)
        why = "this agent has no config file (start it with a YAML file to edit)"
        return web.json_response(
            {"path": None, "data": data, "text": "", "sha256": None, "editable": False, "why": why}
        )
    text = studio.document.read()
    data = studio.document.data()
    return web.json_response(
        {"path": str(studio.document.path), "data": data, "text": text, "sha256": digest(text), "editable": True}
    )


async def post_validate(request: web.Request) -> web.Response:
    _, errors = validate(_data(await _body(request)))
    return web.json_response({"errors": _errors(errors)})


async def post_diff(request: web.Request) -> web.Response:
    studio = _studio(request)
    data = _data(await _body(request))
    _, errors = validate(data)
    if studio.document is None:
        return _error(409, "this agent has no config file to change")
    return web.json_response({"diff": studio.document.diff(data), "errors": _errors(errors)})


async def post_save(request: web.Request) -> web.Response:
    studio = _studio(request)
    if studio.document is None:
        return _error(409, "this agent has no config file to change")
    body = await _body(request)
    data = _data(body)
    base = body.get("sha256")
    if base is not None and not isinstance(base, str):
        raise _BadRequest(400, 'field "sha256" must be the digest of the text loaded')
    try:
        written, errors = studio.document.save(data, base)
    except Conflict as exc:
        return _error(409, str(exc))
    if errors:
        return web.json_response({"error": {"message": "the config has errors", "errors": _errors(errors)}}, status=422)
    return web.json_response({"sha256": written, "applied": await _apply(studio)})


async def _apply(studio: Studio) -> bool:
    """The saved file, as the server reads it (environment overrides included), for the next session."""
    from vagus.config import load_config

    assert studio.document is not None
    try:
        config = load_config(studio.document.path)
    except ConfigError as exc:  # an environment override the form cannot see made it invalid
        log.warning("saved, not applied: %s", exc)
        return False
    studio.config = config
    if studio.on_saved is None:
        return False
    try:
        await studio.on_saved(config)
    except Exception as exc:  # a model that does not load: the file is saved, the server goes on as it was
        log.warning("saved, not applied: %s", exc)
        return False
    return True


async def get_history(request: web.Request) -> web.Response:
    studio = _studio(request)
    return web.json_response({"versions": studio.document.history() if studio.document else []})


async def get_version(request: web.Request) -> web.Response:
    studio = _studio(request)
    if studio.document is None:
        return _error(404, "no history: this agent has no config file")
    return web.json_response({"text": studio.document.version(request.match_info["version"])})


async def post_restore(request: web.Request) -> web.Response:
    studio = _studio(request)
    if studio.document is None:
        return _error(409, "this agent has no config file to change")
    version = (await _body(request)).get("version")
    if not isinstance(version, str):
        raise _BadRequest(400, 'field "version" must name a version from the history')
    _, errors = validate(studio.document.data(studio.document.version(version)))
    if errors:
        return _error(422, "that version is not a valid config any more", errors=_errors(errors))
    written = studio.document.restore(version)
    return web.json_response({"sha256": written, "applied": await _apply(studio)})


async def get_tools(request: web.Request) -> web.Response:
    from vagus.brain.skills import builtin_tools
    from vagus.config import BUILTIN_SKILLS

    studio = _studio(request)
    enabled = set(studio.config.tools.builtin)
    tools = [
        {"name": t.name, "description": t.description, "source": "builtin", "enabled": t.name in enabled}
        for t in builtin_tools(list(BUILTIN_SKILLS))
    ]
    if studio.agent is not None:
        for tool in studio.agent.toolbox().tools.values():
            tools.append({"name": tool.name, "description": tool.description, "source": "agent", "enabled": True})
    return web.json_response({"tools": tools, "agent_code": studio.agent is not None})


async def post_flow_validate(request: web.Request) -> web.Response:
    body = await _body(request)
    flow = body.get("flow")
    if not isinstance(flow, dict):
        raise _BadRequest(400, 'field "flow" must be the flow as an object')
    data = {**_studio(request).config.model_dump(mode="json", exclude_defaults=True), "flow": flow}
    _, errors = validate(data)
    return web.json_response({"errors": _errors([e for e in errors if e.path.startswith("flow")])})


def _runs(request: web.Request) -> EvalRuns:
    runs = _studio(request).evals
    if runs is None:
        raise _BadRequest(409, "evaluations run on a config file: this agent has none")
    return runs


async def post_evals(request: web.Request) -> web.Response:
    runs = _runs(request)
    body = await _body(request)
    suite, matrix = body.get("suite", "builtin"), body.get("matrix")
    if not isinstance(suite, str) or (matrix is not None and not isinstance(matrix, dict)):
        raise _BadRequest(400, 'fields: "suite" ("builtin" or a suite file) and "matrix" (an object or null)')
    run = await runs.start(suite, matrix or None)
    return web.json_response(runs.describe(run), status=202)


async def get_evals(request: web.Request) -> web.Response:
    runs = _runs(request)
    return web.json_response({"runs": [runs.describe(r) for r in runs.names()]})


async def get_winner(request: web.Request) -> web.Response:
    studio = _studio(request)
    assert studio.document is not None
    return web.json_response(_runs(request).winner(request.match_info["run"], studio.document.data()))


async def eval_report(request: web.Request) -> web.StreamResponse:
    refused = _guard(request)
    if refused is not None:
        return refused
    try:
        folder = _runs(request).folder_of(request.match_info["run"])
    except (ConfigError, _BadRequest):
        raise web.HTTPNotFound() from None
    report = folder / "report.html"
    if not report.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(report, headers={"Content-Type": "text/html; charset=utf-8"})


async def get_recordings(request: web.Request) -> web.Response:
    studio = _studio(request)
    store = studio.recordings
    listed = await asyncio.to_thread(store.all)
    return web.json_response(
        {"enabled": studio.config.recording.enabled, "path": str(store.root), "recordings": listed}
    )


async def get_recording(request: web.Request) -> web.Response:
    store = _studio(request).recordings
    return web.json_response(await asyncio.to_thread(store.get, request.match_info["name"]))


async def recording_audio(request: web.Request) -> web.StreamResponse:
    path = _studio(request).recordings.audio(request.match_info["name"])
    return web.FileResponse(path, headers={"Content-Type": "audio/wav", "Cache-Control": "no-store"})


async def delete_recording(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    await asyncio.to_thread(_studio(request).recordings.delete, name)
    log.info("recording %s deleted from the Studio", name)
    return web.json_response({"deleted": name})


def _static(name: str) -> bytes:
    return resources.files("vagus.studio").joinpath("static", name).read_bytes()


async def page(request: web.Request) -> web.Response:
    return web.Response(body=_static("studio.html"), content_type="text/html")


async def static_file(request: web.Request) -> web.Response:
    from vagus.server.app import packaged_file

    return packaged_file("vagus.studio", request.match_info["name"], STATIC_TYPES)


def mount(app: web.Application, studio: Studio) -> None:
    """Add the Studio to a server's app (before it starts)."""
    app[STUDIO_KEY] = studio
    app.router.add_get("/studio", page)
    app.router.add_get("/studio/static/{name:.+}", static_file)
    for method, path, handler in (
        ("GET", "schema", get_schema), ("GET", "config", get_config), ("POST", "validate", post_validate),
        ("POST", "diff", post_diff), ("POST", "save", post_save), ("GET", "history", get_history),
        ("GET", "history/{version}", get_version), ("POST", "restore", post_restore), ("GET", "tools", get_tools),
        ("POST", "flow/validate", post_flow_validate), ("POST", "evals", post_evals), ("GET", "evals", get_evals),
        ("GET", "evals/{run}/winner", get_winner), ("GET", "recordings", get_recordings),
        ("GET", "recordings/{name}", get_recording), ("GET", "recordings/{name}/audio", recording_audio),
        ("DELETE", "recordings/{name}", delete_recording),
    ):  # fmt: skip
        app.router.add_route(method, f"/studio/api/{path}", guarded(handler))
    app.router.add_get("/studio/evals/{run}/report.html", eval_report)

    async def stop_evals(app: web.Application) -> None:
        if studio.evals is not None:
            await studio.evals.close()

    app.on_shutdown.append(stop_evals)
