"""A small OpenAI-compatible server on 127.0.0.1 for adapter tests (chat streaming, STT, TTS)."""

from __future__ import annotations

import json
import socket
from contextlib import asynccontextmanager

import numpy as np
from aiohttp import web


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeOpenAI:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.chat_chunks = ["Hello", " there.", " How can", " I help?"]
        self.chat_status = 200
        self.malformed = False

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append({"path": request.path, "body": body, "auth": request.headers.get("Authorization")})
        if self.chat_status != 200:
            return web.json_response({"error": {"message": "nope"}}, status=self.chat_status)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        if self.malformed:
            await response.write(b"data: {not json\n\n")
        for chunk in self.chat_chunks:
            payload = {"choices": [{"delta": {"content": chunk}, "index": 0}]}
            # split one event across two writes to exercise the line buffer
            raw = f"data: {json.dumps(payload)}\n\n".encode()
            await response.write(raw[:7])
            await response.write(raw[7:])
        await response.write(b"data: [DONE]\n\n")
        return response

    async def transcribe(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload = form["file"]
        data = upload.file.read()
        self.requests.append(
            {"path": request.path, "model": form.get("model"), "bytes": len(data), "prompt": form.get("prompt")}
        )
        assert data[:4] == b"RIFF"
        return web.json_response({"text": " hello from the fake "})

    async def speech(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append({"path": request.path, "body": body})
        pcm = (np.sin(np.arange(2400) / 5) * 8000).astype("<i2").tobytes()  # 0.1 s at 24 kHz
        response = web.StreamResponse(headers={"Content-Type": "audio/pcm"})
        await response.prepare(request)
        await response.write(pcm[:1001])  # odd split: the adapter must carry the half sample
        await response.write(pcm[1001:])
        return response

    @asynccontextmanager
    async def serve(self):
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_post("/v1/audio/transcriptions", self.transcribe)
        app.router.add_post("/v1/audio/speech", self.speech)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            yield f"http://127.0.0.1:{port}/v1"
        finally:
            await runner.cleanup()
