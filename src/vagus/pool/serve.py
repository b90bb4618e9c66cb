"""`vagus pool`: speech to text for many nodes on Ray Serve, batched across every session that asks.

The endpoint is OpenAI's `POST /v1/audio/transcriptions` (multipart: `file`, `model`, `language`,
`prompt`, `response_format` json|text|verbose_json), so a node uses it with its ordinary provider:

    stt: {provider: openai, base_url: http://pool:8000/v1, model: whisper}

Ray Serve queues the requests of all nodes and hands `transcribe_batch` up to `max_batch` of them at
once, waiting at most `batch_wait_ms` for a batch to fill (`@serve.batch`); the batch is one
CTranslate2 call (`whisper_batch.py`), on a GPU when there is one. Replicas (`--replicas`, each with
its own model, and a GPU each with `--gpus-per-replica`) share the load. `GET /v1/pool/stats` gives
the batch sizes seen. Ray runs on this machine only (a local instance started here, no dashboard).
"""

from __future__ import annotations

import asyncio
import io
import logging
import signal
import time
from collections import deque
from typing import Any

log = logging.getLogger("vagus.pool")

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
"""OpenAI's own limit for a transcription upload."""


def _error(status: int, message: str) -> Any:
    from starlette.responses import JSONResponse

    return JSONResponse({"error": {"message": message, "type": "invalid_request_error"}}, status_code=status)


def build_app(model: str | None, device: str, max_batch: int, batch_wait_ms: float, replicas: int, gpus: float) -> Any:
    """The Serve application (bound, not yet running)."""
    from ray import serve
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse

    @serve.deployment(
        name="whisper", num_replicas=replicas, ray_actor_options={"num_gpus": gpus}, max_ongoing_requests=256
    )
    class WhisperPool:
        def __init__(self) -> None:
            from vagus.pool.whisper_batch import BatchedWhisper

            self.engine = BatchedWhisper(model, device)
            self.engine.transcribe([(__import__("numpy").zeros(8000, "float32"), "en", None)])  # warm
            self.batches: deque[tuple[float, int, float]] = deque(maxlen=2000)
            self.transcribe_batch.set_max_batch_size(max_batch)  # type: ignore[attr-defined]
            self.transcribe_batch.set_batch_wait_timeout_s(batch_wait_ms / 1000)  # type: ignore[attr-defined]

        @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.01)
        async def transcribe_batch(self, items: list[tuple[Any, str | None, str | None]]) -> list[dict[str, Any]]:
            started = time.perf_counter()
            results = await asyncio.to_thread(self.engine.transcribe, items)
            self.batches.append((time.time(), len(items), (time.perf_counter() - started) * 1000))
            return results

        async def __call__(self, request: Request) -> Any:
            path = request.url.path.rstrip("/")
            if path.endswith("/pool/stats") and request.method == "GET":
                sizes = [n for _, n, _ in self.batches]
                return JSONResponse({
                    "device": self.engine.device, "compute_type": self.engine.compute_type,
                    "model": model or "tiny.en", "batches": len(sizes), "requests": sum(sizes),
                    "batch_sizes": sizes[-200:], "max_batch": max(sizes, default=0),
                    "batch_ms": [round(ms, 1) for _, _, ms in list(self.batches)[-200:]],
                })  # fmt: skip
            if not path.endswith("/audio/transcriptions"):
                return _error(404, f"no such endpoint: {request.method} {path} (POST /v1/audio/transcriptions)")
            if request.method != "POST":
                return _error(405, "POST a multipart form with the audio as `file`")
            if int(request.headers.get("content-length") or 0) > MAX_UPLOAD_BYTES:
                return _error(413, f"the audio is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
            try:
                form = await request.form()
            except Exception:
                return _error(400, "the body must be a multipart form with the audio as `file`")
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                return _error(400, "missing `file`: the audio to transcribe")
            try:
                audio = read_upload(await upload.read())
            except ValueError as exc:
                return _error(400, str(exc))
            language, prompt = form.get("language"), form.get("prompt")
            fmt = form.get("response_format") or "json"
            if fmt not in ("json", "text", "verbose_json"):
                return _error(400, f"response_format {fmt!r}: json, text or verbose_json")
            result = await self.transcribe_batch(
                (audio, language if isinstance(language, str) else None, prompt if isinstance(prompt, str) else None)
            )
            if fmt == "text":
                return PlainTextResponse(result["text"])
            if fmt == "verbose_json":
                return JSONResponse({"text": result["text"], "language": result["language"],
                                     "duration": round(len(audio) / 16000, 3)})  # fmt: skip
            return JSONResponse({"text": result["text"]})

    return WhisperPool.bind()  # type: ignore[attr-defined]


def read_upload(data: bytes) -> Any:
    """Any audio file soundfile reads → 16 kHz mono float32 (ValueError: not audio)."""
    import numpy as np
    import soundfile as sf

    from vagus.audio.resample import resample

    try:
        audio, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except Exception as exc:
        raise ValueError(f"`file` is not audio this server reads (WAV, FLAC, OGG…): {exc}") from None
    if not len(audio):
        raise ValueError("`file` holds no audio")
    return resample(np.ascontiguousarray(audio.mean(axis=1)), rate, 16000)


def run_pool(
    host: str, port: int, model: str | None, device: str, max_batch: int | None, batch_wait_ms: float, replicas: int
) -> int:
    """Start a local Ray, serve the pool until SIGINT/SIGTERM, stop both. Returns the exit status."""
    import os

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # nothing reported anywhere
    # Serve gives its HTTP proxy 5 s to come up and kills it after: on a busy machine importing it takes
    # longer, and the pool never started. Minutes, not seconds (the processes Ray starts inherit these).
    os.environ.setdefault("RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S", "120")
    os.environ.setdefault("RAY_SERVE_PROXY_HEALTH_CHECK_TIMEOUT_S", "60")
    try:
        import ray
        from ray import serve
    except ImportError:
        raise RuntimeError("the pool runs on Ray Serve: pip install 'vagus[pool]'") from None
    from vagus.pool.whisper_batch import pick_device

    device = pick_device(device)
    gpus = 1.0 if device == "cuda" else 0.0
    if max_batch is None:  # batching pays on a GPU; on the CPU a batch only makes each answer wait for all
        max_batch = 16 if device == "cuda" else 1
    ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        serve.start(http_options={"host": host, "port": port}, logging_config={"log_level": "WARNING"})
        serve.run(
            build_app(model, device, max_batch, batch_wait_ms, replicas, gpus), name="vagus-pool", route_prefix="/v1"
        )
        print(
            f"Vagus pool: speech to text on {device}, batches of up to {max_batch} "
            f"({batch_wait_ms:g} ms wait), {replicas} replica(s): http://{host}:{port}/v1/audio/transcriptions",
            flush=True,
        )
        stop = False

        def stopping(*_: Any) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGTERM, stopping)
        signal.signal(signal.SIGINT, stopping)
        while not stop:
            time.sleep(0.2)
    finally:
        serve.shutdown()
        ray.shutdown()
    return 0
