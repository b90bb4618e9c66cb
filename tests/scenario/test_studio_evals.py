"""Evaluations from the Studio's API: `vagus eval` on the saved agent file in its own process, progress,
the report served, a second run compared with the first, the winner's settings laid over the form,
and the refusals (a bad suite, a second run while one is going)."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient, TestServer

from vagus.agent.host import SessionHost
from vagus.server.app import create_app
from vagus.studio.api import Studio, mount
from vagus.studio.document import ConfigDocument
from vagus.transports.webrtc import WebRTCGateway

pytestmark = pytest.mark.slow

MATRIX = {
    "combinations": {"as_saved": {}, "slow_silence": {"turns": {"end_of_turn": {"model": "none"}, "silence_ms": 1500}}}
}


async def finished(client: TestClient, timeout_s: float = 400) -> dict:
    for _ in range(int(timeout_s * 2)):
        runs = (await (await client.get("/studio/api/evals")).json())["runs"]
        if runs and runs[0]["state"] != "running":
            return runs[0]
        await asyncio.sleep(0.5)
    raise TimeoutError("the evaluation did not finish")


async def test_an_evaluation_runs_on_the_saved_agent(tmp_path, services, offline_config, fixtures_dir):
    agent = tmp_path / "agent.yaml"
    agent.write_text("name: Evaluated   # kept\n")
    (tmp_path / "suite.yaml").write_text((fixtures_dir / "arithmetic_suite.yaml").read_text())
    app = create_app(WebRTCGateway(SessionHost(services, offline_config)))
    mount(app, Studio(ConfigDocument(agent), offline_config))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        bad = await client.post("/studio/api/evals", json={"suite": "../nowhere.yaml"})
        assert bad.status == 422 and "suite" in (await bad.json())["error"]["message"]
        started = await client.post("/studio/api/evals", json={"suite": "suite.yaml", "matrix": MATRIX})
        body = await started.json()
        assert started.status == 202 and body["state"] == "running" and body["total"] == 2, body
        again = await client.post("/studio/api/evals", json={"suite": "suite.yaml"})
        assert again.status == 422 and "already running" in (await again.json())["error"]["message"]
        first = await finished(client)
        assert first["state"] == "done" and first["done"] == 2, first
        assert {s["combination"] for s in first["summary"]} == {"as_saved", "slow_silence"}
        report = await client.get(first["report"])
        assert report.status == 200 and "Vagus eval" in await report.text()
        winner = await (await client.get(f"/studio/api/evals/{first['run']}/winner")).json()
        best = first["summary"][0]["combination"]
        assert winner == {"combination": best, "data": {"name": "Evaluated", **MATRIX["combinations"][best]}}
        await client.post("/studio/api/evals", json={"suite": "suite.yaml", "matrix": MATRIX})
        second = await finished(client)
        assert second["compared_with"] == first["run"] and "regressions" in second, second
        runs = (await (await client.get("/studio/api/evals")).json())["runs"]
        assert [r["run"] for r in runs] == [second["run"], first["run"]]
        assert (await client.get("/studio/evals/nope/report.html")).status == 404
