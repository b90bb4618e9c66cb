"""`vagus serve --workers N`: sessions spread over worker processes, one per core by default.

One session host is one event loop and one tick: it uses one core (its model threads a little more).
The front (this module, in the `vagus serve` process) loads no model: it serves the page, checks
access, and routes each offer to the least-loaded worker (`server/worker.py`), which answers it with
its own ICE candidates, so the session's media stays with that worker for its whole life.

Each worker reports its load over a private Unix socket (`/status`, polled every half second); the
front's `/status` lists every worker. A worker that dies takes only its own sessions: the front logs
a `worker_died` event naming them, frees their clients' session budget, and starts a new worker
(sooner the first time, backing off up to 30 s when it keeps dying).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from vagus.agent.host import HostFull
from vagus.agent.services import describe_config
from vagus.config import AgentConfig
from vagus.transports.webrtc import SignalingError

log = logging.getLogger("vagus.workers")

POLL_S = 0.5
START_TIMEOUT_S = 300.0
"""Loading the models of a worker (a slow disk, a first run)."""
RESTART_BACKOFF_S = (1.0, 30.0)
OFFER_TIMEOUT_S = 30.0


class Worker:
    """One worker process as the front sees it."""

    def __init__(self, index: int, socket_dir: Path) -> None:
        self.index = index
        self.socket = socket_dir / f"worker-{index}.sock"
        self.process: asyncio.subprocess.Process | None = None
        self.ready = False
        self.load: dict[str, Any] = {}
        self.pending = 0
        """Offers sent to it and not answered yet (counted as sessions when choosing)."""
        self.sessions: dict[str, Callable[[], None]] = {}
        """Sessions routed here → what to call when each ends."""
        self.restarts = 0
        self.started_at = 0.0
        self._http: aiohttp.ClientSession | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def http(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=str(self.socket)))
        return self._http

    def weight(self) -> tuple[bool, float]:
        """Sort key: admitting workers first, then the fewest sessions (with offers in flight), then CPU."""
        load = self.load
        sessions = len(load.get("session_ids", ())) + self.pending
        return (not load.get("admitting", True), sessions + load.get("process_cpu_percent", 0.0) / 1000.0)

    def summary(self) -> dict[str, Any]:
        load = {k: v for k, v in self.load.items() if k != "session_ids"}
        return {
            "index": self.index,
            "pid": self.pid,
            "ready": self.ready,
            "restarts": self.restarts,
            **load,
            "session_ids": sorted(self.sessions),
        }

    async def close_http(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None


class WorkerPool:
    """The front's view of N workers: start, route, poll, restart, drain."""

    def __init__(
        self,
        config: AgentConfig,
        count: int,
        ice: list[str] | None = None,
        log_settings: dict[str, Any] | None = None,
        agent_spec: str | None = None,
    ) -> None:
        """`agent_spec`: the user's agent (`FILE.py:NAME`), loaded by each worker."""
        if count < 1:
            raise ValueError("at least one worker")
        self.config = config
        self.name = config.name
        self.count = count
        self.per_worker_sessions = max(1, math.ceil(config.server.max_sessions / count))
        self._ice = list(ice or [])
        self._log_settings = log_settings or {}
        self._agent_spec = agent_spec
        self._dir = Path(tempfile.mkdtemp(prefix="vagus-workers-"))  # mode 0700: only this user
        self.workers = [Worker(i, self._dir) for i in range(count)]
        self._tasks: set[asyncio.Task[Any]] = set()
        self.stopping = False
        self.draining = False
        self.deaths: list[dict[str, Any]] = []

    # ---- life cycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start every worker and wait until each has loaded its models (or failed to)."""
        results = await asyncio.gather(*(self._start(w) for w in self.workers), return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if len(failed) == len(self.workers):
            await self.close()
            raise RuntimeError(f"no worker started: {failed[0]}")
        for worker in self.workers:
            self._spawn(self._watch(worker))
        self._spawn(self._poll())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start(self, worker: Worker) -> None:
        worker.ready = False
        worker.load = {}
        worker.socket.unlink(missing_ok=True)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "vagus.server.worker",
            "--socket",
            str(worker.socket),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        worker.process = process
        worker.started_at = time.monotonic()
        start = {
            "config": self.config.model_dump(mode="json"),
            "ice": self._ice,
            "max_sessions": self.per_worker_sessions,
            "log": self._log_settings,
            "agent": self._agent_spec,
        }
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(json.dumps(start).encode() + b"\n")
        await process.stdin.drain()  # stdin stays open: its end tells the worker the front has gone
        try:
            line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            raise RuntimeError(f"worker {worker.index} did not load its models in {START_TIMEOUT_S:.0f} s") from None
        if line.strip() != b"ready":
            await process.wait()
            raise RuntimeError(f"worker {worker.index} exited with code {process.returncode} while starting")
        worker.ready = True
        log.info("worker %d ready (pid %d)", worker.index, process.pid)

    async def _watch(self, worker: Worker) -> None:
        """Wait for the worker to exit; unless the server is stopping, report it and start another."""
        backoff = RESTART_BACKOFF_S[0]
        while True:
            process = worker.process
            if process is not None:
                await process.wait()
            if self.stopping:
                return
            self._died(worker, process.returncode if process is not None else None)
            lived = time.monotonic() - worker.started_at
            if lived > 60:
                backoff = RESTART_BACKOFF_S[0]
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, RESTART_BACKOFF_S[1])
            if self.stopping:
                return
            worker.restarts += 1
            try:
                await self._start(worker)
            except (RuntimeError, OSError) as exc:
                log.error("worker %d could not be restarted: %s", worker.index, exc)

    def _died(self, worker: Worker, code: int | None) -> None:
        worker.ready = False
        ended = list(worker.sessions)
        record = {"type": "worker_died", "worker": worker.index, "pid": worker.pid, "code": code, "sessions": ended}
        self.deaths.append(record)
        log.error(
            "worker %d (pid %s) exited with code %s: its %d sessions ended; starting another",
            worker.index,
            worker.pid,
            code,
            len(ended),
            extra={"event": record},
        )
        for callback in worker.sessions.values():
            callback()
        worker.sessions.clear()
        worker.load = {}

    async def _poll(self) -> None:
        while not self.stopping:
            await asyncio.gather(*(self._poll_one(w) for w in self.workers if w.ready))
            await asyncio.sleep(POLL_S)

    async def _poll_one(self, worker: Worker) -> None:
        try:
            async with worker.http().get("http://worker/status", timeout=aiohttp.ClientTimeout(total=2)) as response:
                load = await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return  # dead or busy: _watch sees a death; a busy worker is simply not chosen on stale data
        worker.load = load
        live = set(load.get("session_ids", ()))
        for session_id in [s for s in worker.sessions if s not in live]:
            worker.sessions.pop(session_id)()

    # ---- sessions -----------------------------------------------------------------------------------

    async def accept(self, sdp: str, kind: str, echo: str, user: str | None = None) -> tuple[str, str, str]:
        """Route an offer to the least-loaded worker that takes it: (answer sdp, type, session id)."""
        worker, body = await self._first_taker("/offer", {"sdp": sdp, "type": kind, "echo": echo, "user": user})
        worker.sessions[body["session_id"]] = lambda: None
        worker.load.setdefault("session_ids", []).append(body["session_id"])
        return body["sdp"], body["type"], body["session_id"]

    async def _first_taker(self, path: str, payload: dict[str, Any]) -> tuple[Worker, dict[str, Any]]:
        """The least-loaded ready worker that answers `POST path` with 200, and its answer. A 400 is
        the client's fault (SignalingError, with the worker's reason); none taking it is HostFull."""
        if self.draining:
            raise HostFull("the server is draining: no new sessions")
        reasons: list[str] = []
        for worker in sorted((w for w in self.workers if w.ready), key=Worker.weight):
            worker.pending += 1
            try:
                async with worker.http().post(
                    f"http://worker{path}", json=payload, timeout=aiohttp.ClientTimeout(total=OFFER_TIMEOUT_S)
                ) as response:
                    body = await response.json()
                    code = response.status
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                reasons.append(f"worker {worker.index}: {exc.__class__.__name__}")
                continue
            finally:
                worker.pending -= 1
            if code == 200:
                return worker, body
            if code == 400:
                raise SignalingError(body.get("error", "the offer could not be negotiated"))
            reasons.append(f"worker {worker.index}: {body.get('error', code)}")
        raise HostFull("no worker can take a session now (" + "; ".join(reasons or ["none is ready"]) + ")")

    async def metrics(self) -> bytes:
        """Every ready worker's metrics, each sample labelled with its worker."""
        from vagus.server.metrics import merge_workers

        texts: dict[str, str] = {}
        for worker in (w for w in self.workers if w.ready):
            try:
                async with worker.http().get("http://worker/metrics", timeout=aiohttp.ClientTimeout(total=5)) as r:
                    texts[str(worker.index)] = await r.text()
            except (aiohttp.ClientError, TimeoutError):
                continue  # a worker that does not answer is missing from this scrape
        return merge_workers(texts)

    def ice_servers(self) -> list[dict[str, Any]]:
        from vagus.server.app import page_ice_servers

        return page_ice_servers(self.config)

    def realtime_candidates(
        self, params: dict[str, Any], key: str | None
    ) -> list[tuple[str, aiohttp.ClientSession, str, dict[str, str]]]:
        """Where a Realtime connection may go, least loaded first (`server/realtime.py` relays it): the
        front has admitted the client, and tells the worker who it is and its settings."""
        if self.draining:
            return []
        ready = sorted((w for w in self.workers if w.ready), key=Worker.weight)
        headers = {"X-Vagus-Realtime": json.dumps(params)}
        return [(f"worker {w.index}", w.http(), "http://worker/realtime", headers) for w in ready]

    async def realtime_call(
        self, sdp: str, model: str | None, user: str | None, session: dict[str, Any] | None
    ) -> tuple[str, str]:
        """A Realtime WebRTC call on the least-loaded worker that takes it: (answer SDP, call id)."""
        payload = {"sdp": sdp, "model": model, "user": user, "session": session}
        _, body = await self._first_taker("/realtime/calls", payload)
        return body["sdp"], body["call_id"]

    def watch_end(self, session_id: str, callback: Callable[[], None]) -> None:
        """Call `callback` once the session ends (or its worker dies)."""
        for worker in self.workers:
            if session_id in worker.sessions:
                worker.sessions[session_id] = callback
                return
        callback()

    def __len__(self) -> int:
        return sum(len(w.sessions) for w in self.workers)

    def describe(self) -> dict[str, str]:
        return describe_config(self.config)

    def status(self) -> dict[str, Any]:
        workers = [w.summary() for w in self.workers]
        return {
            "workers": workers,
            "sessions": len(self),
            "admitting": not self.draining and any(w.ready and w.load.get("admitting", False) for w in self.workers),
            "draining": self.draining,
            "restarts": sum(w.restarts for w in self.workers),
            "worker_deaths": self.deaths[-20:],
        }

    async def drain(self, timeout_s: float) -> bool:
        """Admit nobody new; every worker drains its own sessions (SIGTERM) and exits."""
        self.draining = True
        self.stopping = True
        for worker in self.workers:
            if worker.process is not None and worker.process.returncode is None:
                worker.process.send_signal(signal.SIGTERM)
        return await self._wait_all(timeout_s + 10)

    async def _wait_all(self, timeout_s: float) -> bool:
        processes = [w.process for w in self.workers if w.process is not None]
        try:
            await asyncio.wait_for(asyncio.gather(*(p.wait() for p in processes)), timeout_s)
            return True
        except TimeoutError:
            for process in processes:
                if process.returncode is None:
                    process.kill()
            await asyncio.gather(*(p.wait() for p in processes))
            return False

    async def close(self) -> None:
        self.stopping = True
        for worker in self.workers:
            if worker.process is not None and worker.process.returncode is None:
                worker.process.send_signal(signal.SIGTERM)
        await self._wait_all(10)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for worker in self.workers:
            await worker.close_http()
            with contextlib.suppress(OSError):
                worker.socket.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self._dir.rmdir()
