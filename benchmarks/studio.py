"""What a builder waits for in the Studio, on the offline models: the Studio's API in-process on a
real server app (aiohttp test server on 127.0.0.1, the default agent's models loaded once).

- load: `GET /studio/api/schema` + `GET /studio/api/config` (the page's start);
- validate: `POST /studio/api/validate` (each field the builder leaves);
- diff: `POST /studio/api/diff` (Review & save);
- save: `POST /studio/api/save` of a behaviour setting (`turns.silence_ms`): written, and the next
  session's config swapped;
- save + models: a save that changes a model setting (`tts.noise_scale`): the response comes once the
  new models are loaded for the next session.

Median and max over the rounds, in milliseconds.

    .venv/bin/python benchmarks/studio.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

AGENT = "# benchmark agent\nname: Bench   # kept\nturns:\n  silence_ms: 600\n"


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    start = time.perf_counter()
    await call()
    return (time.perf_counter() - start) * 1000


async def main(rounds: int) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from vagus.agent.host import SessionHost
    from vagus.agent.services import build_services, models_key
    from vagus.config import AgentConfig
    from vagus.server.app import create_app
    from vagus.studio.api import Studio, mount
    from vagus.studio.document import ConfigDocument
    from vagus.transports.webrtc import WebRTCGateway

    config = AgentConfig()
    host = SessionHost(build_services(config), config)

    async def apply(new: AgentConfig) -> None:  # as `vagus studio` does
        services = None
        if models_key(new) != models_key(host.config):
            services = await asyncio.to_thread(build_services, new)
        host.reconfigure(new, services)

    path = Path(tempfile.mkdtemp()) / "agent.yaml"
    path.write_text(AGENT)
    app = create_app(WebRTCGateway(host))
    mount(app, Studio(ConfigDocument(path), config, None, apply))
    rows: dict[str, list[float]] = {k: [] for k in ("load", "validate", "diff", "save", "save + models")}
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:

        async def ok(method: str, url: str, **kw: Any) -> Any:
            async with client.request(method, url, **kw) as response:
                assert response.status == 200, await response.text()
                return await response.json()

        async def load() -> None:
            await ok("GET", "/studio/api/schema")
            await ok("GET", "/studio/api/config")

        voice: dict[str, Any] = {}
        for i in range(rounds):
            silence = {"name": "Bench", "turns": {"silence_ms": 600 + 10 * (i + 1)}, **voice}  # same voice
            rows["load"].append(await timed(load))
            rows["validate"].append(await timed(lambda d=silence: ok("POST", "/studio/api/validate", json={"data": d})))
            rows["diff"].append(await timed(lambda d=silence: ok("POST", "/studio/api/diff", json={"data": d})))
            rows["save"].append(await timed(lambda d=silence: ok("POST", "/studio/api/save", json={"data": d})))
            voice = {"tts": {"noise_scale": round(0.3 + 0.05 * i, 2)}}
            models = {**silence, **voice}
            rows["save + models"].append(await timed(lambda d=models: ok("POST", "/studio/api/save", json={"data": d})))
            assert host.config.tts.noise_scale == voice["tts"]["noise_scale"]  # the next session's config
    await host.close_models()
    print(f"Studio API, {rounds} rounds, offline default agent (ms): median / max")
    for name, values in rows.items():
        print(f"  {name:14s} {statistics.median(values):8.1f} / {max(values):8.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(parser.parse_args().rounds))
