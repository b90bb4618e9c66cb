"""A small OpenAI-compatible server on 127.0.0.1 for adapter tests (chat streaming, STT, TTS)."""

from __future__ import annotations

import asyncio
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
        self.scripts: list[list[dict]] = []
        """Per request, in order: the raw `delta` objects to stream (tool calls among them)."""
        self.fault: str | None = None
        """A misbehaving stream: garbage, only_done, data_number, choices_not_objects, cut, hang,
        keepalive (a comment every 0.1 s, never an answer)."""

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append({"path": request.path, "body": body, "auth": request.headers.get("Authorization")})
        if self.chat_status != 200:
            return web.json_response({"error": {"message": "nope"}}, status=self.chat_status)
        if self.fault == "garbage":
            return web.Response(text="<html>502 from a proxy, secret=hunter2</html>", content_type="text/html")
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        if self.fault is not None:
            return await self._fault(request, response)
        if self.malformed:
            await response.write(b"data: {not json\n\n")
        if self.scripts:
            for delta in self.scripts.pop(0):
                await response.write(f"data: {json.dumps({'choices': [{'delta': delta, 'index': 0}]})}\n\n".encode())
            await response.write(b"data: [DONE]\n\n")
            return response
        for chunk in self.chat_chunks:
            payload = {"choices": [{"delta": {"content": chunk}, "index": 0}]}
            # split one event across two writes to exercise the line buffer
            raw = f"data: {json.dumps(payload)}\n\n".encode()
            await response.write(raw[:7])
            await response.write(raw[7:])
        await response.write(b"data: [DONE]\n\n")
        return response

    async def _fault(self, request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
        fault = self.fault
        if fault == "only_done":
            await response.write(b"data: [DONE]\n\n")
        elif fault == "data_number":
            await response.write(b"data: 123\n\n")
        elif fault == "choices_not_objects":
            await response.write(b'data: {"choices": [1]}\n\n')
        elif fault == "cut":
            payload = {"choices": [{"delta": {"content": "Half an ans"}, "index": 0}]}
            await response.write(f"data: {json.dumps(payload)}\n\n".encode())
            request.transport.close()  # mid-stream, no [DONE], no chunked terminator
            return response
        elif fault in ("hang", "keepalive"):
            for _ in range(600):  # until the client gives up (the server must not outlive the test)
                await asyncio.sleep(0.1)
                if request.transport is None or request.transport.is_closing():
                    break
                if fault == "keepalive":
                    try:
                        await response.write(b": keep-alive\n\n")
                    except (ConnectionError, RuntimeError):
                        break
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
