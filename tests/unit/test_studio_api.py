"""The Studio's JSON endpoints on a real server app: schema, config, validation at fields, the diff,
saving (422 with errors, 409 when the file changed), history and restore, tools, flow checks, the
page and its assets, the API key guard, and a save reaching the next session without a restart."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from vagus.agent.host import SessionHost
from vagus.server.app import Access, create_app
from vagus.studio.api import Studio, mount
from vagus.studio.document import ConfigDocument
from vagus.transports.webrtc import WebRTCGateway

AGENT = "# my agent\nname: Helper   # on the page\nturns:\n  silence_ms: 600\n"


@pytest.fixture
async def studio(tmp_path, services, offline_config):
    path = tmp_path / "agent.yaml"
    path.write_text(AGENT)
    host = SessionHost(services, offline_config, max_sessions=2)
    applied = []

    async def on_saved(config):
        applied.append(config)
        host.reconfigure(config)

    app = create_app(WebRTCGateway(host))
    mount(app, Studio(ConfigDocument(path), offline_config, None, on_saved))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        client.path, client.session_host, client.applied = path, host, applied
        yield client


async def test_schema_and_config(studio):
    schema = await (await studio.get("/studio/api/schema")).json()
    assert "turns" in schema["config"]["properties"] and "openai" in schema["providers"]["llm"]
    assert "temperature" in schema["providers"]["llm"]["openai"]["schema"]["properties"]
    assert schema["defaults"]["turns"]["silence_ms"] > 0
    config = await (await studio.get("/studio/api/config")).json()
    assert config["editable"] and config["data"] == {"name": "Helper", "turns": {"silence_ms": 600}}
    assert config["text"] == AGENT


async def test_validate_diff_and_save(studio):
    bad = {"name": "Helper", "turns": {"silence_ms": -1}}
    errors = (await (await studio.post("/studio/api/validate", json={"data": bad})).json())["errors"]
    assert errors == [{"path": "turns.silence_ms", "message": "Input should be greater than 0"}]
    refused = await studio.post("/studio/api/save", json={"data": bad})
    assert refused.status == 422 and (await refused.json())["error"]["errors"][0]["path"] == "turns.silence_ms"
    assert studio.path.read_text() == AGENT
    good = {"name": "Helper", "turns": {"silence_ms": 800}}
    diff = (await (await studio.post("/studio/api/diff", json={"data": good})).json())["diff"]
    assert "-  silence_ms: 600\n+  silence_ms: 800\n" in diff
    config = await (await studio.get("/studio/api/config")).json()
    saved = await studio.post("/studio/api/save", json={"data": good, "sha256": config["sha256"]})
    body = await saved.json()
    assert saved.status == 200 and body["applied"], body
    assert studio.path.read_text() == AGENT.replace("600", "800")
    # the next session gets it, without a restart
    assert studio.session_host.config.turns.silence_ms == 800 and studio.applied[-1].name == "Helper"
    stale = await studio.post("/studio/api/save", json={"data": good | {"name": "X"}, "sha256": config["sha256"]})
    assert stale.status == 409 and "changed on disk" in (await stale.json())["error"]["message"]


async def test_history_and_restore(studio):
    await studio.post("/studio/api/save", json={"data": {"name": "Two"}})
    versions = (await (await studio.get("/studio/api/history")).json())["versions"]
    assert len(versions) == 1
    text = (await (await studio.get(f"/studio/api/history/{versions[0]['version']}")).json())["text"]
    assert text == AGENT
    restored = await studio.post("/studio/api/restore", json={"version": versions[0]["version"]})
    assert restored.status == 200 and studio.path.read_text() == AGENT
    assert studio.session_host.config.name == "Helper"
    missing = await studio.get("/studio/api/history/20000101T000000.000000000Z")
    assert missing.status == 422


async def test_tools_flow_and_bad_requests(studio):
    tools = (await (await studio.get("/studio/api/tools")).json())["tools"]
    assert {t["name"] for t in tools} >= {"time", "date", "calculate"} and not any(t["enabled"] for t in tools)
    flow = {"nodes": {"ask": {"instructions": "Ask.", "next": "gone"}}}
    errors = (await (await studio.post("/studio/api/flow/validate", json={"flow": flow})).json())["errors"]
    assert errors and "gone" in errors[0]["message"]
    ok = {
        "nodes": {
            "ask": {"instructions": "Ask.", "choices": {"done": "they are done"}},
            "done": {"instructions": "Bye.", "end": True},
        }
    }
    assert (await (await studio.post("/studio/api/flow/validate", json={"flow": ok})).json())["errors"] == []
    assert (await studio.post("/studio/api/save", data=b"{nope")).status == 400
    assert (await studio.post("/studio/api/save", json={"data": [1]})).status == 400
    assert (await studio.post("/studio/api/restore", json={})).status == 400


async def test_the_page_and_its_assets(studio):
    page = await studio.get("/studio")
    html = await page.text()
    assert page.status == 200 and "/studio/static/studio.js" in html
    for asset in ("studio.js", "studio.css", "vendor/cytoscape-3.35.0.min.js", "vendor/cytoscape-LICENSE.txt"):
        assert (await studio.get(f"/studio/static/{asset}")).status == 200, asset
    assert (await studio.get("/studio/static/../api.py")).status == 404
    assert (await studio.get("/studio/static/document.py")).status == 404


async def test_the_api_key_guards_the_studio(tmp_path, services, offline_config):
    path = tmp_path / "agent.yaml"
    path.write_text(AGENT)
    app = create_app(WebRTCGateway(SessionHost(services, offline_config)), Access("x", api_key="k" * 32))
    mount(app, Studio(ConfigDocument(path), offline_config))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        assert (await client.get("/studio/api/config")).status == 401
        save = await client.post("/studio/api/save", json={"data": {"name": "Evil"}})
        assert save.status == 401 and path.read_text() == AGENT
        allowed = await client.get("/studio/api/config", headers={"Authorization": "Bearer " + "k" * 32})
        assert allowed.status == 200


async def test_a_python_agent_without_a_file_is_shown_not_saved(services, offline_config):
    app = create_app(WebRTCGateway(SessionHost(services, offline_config)))
    mount(app, Studio(None, offline_config))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        config = await (await client.get("/studio/api/config")).json()
        assert not config["editable"] and "no config file" in config["why"]
        assert (await client.post("/studio/api/save", json={"data": {}})).status == 409
