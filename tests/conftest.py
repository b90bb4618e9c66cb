from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vagus.audio.wav import read_audio

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def manifest() -> dict:
    return json.loads((FIXTURES / "manifest.json").read_text())


def load_fixture(name: str) -> tuple[np.ndarray, int]:
    return read_audio(FIXTURES / f"{name}.wav")


@pytest.fixture(scope="session")
def offline_config():
    """The default config, with Piper's random variation off: the agent's voice (and so its echo in
    the loudspeaker scenarios) is the same in every run, whatever ran before."""
    from vagus.config import AgentConfig

    return AgentConfig.model_validate({"tts": {"provider": "piper", "noise_scale": 0, "noise_w_scale": 0}})


@pytest.fixture(scope="session")
def services(offline_config):
    """The real offline providers, loaded once for the whole test run (as a server would)."""
    from vagus.agent.services import build_services

    return build_services(offline_config)


@pytest.fixture(scope="session")
def silero():
    from vagus.senses.silero import SileroModel

    return SileroModel()


async def say_hello_over_realtime(ws) -> None:  # type: ignore[no-untyped-def]
    """A spoken "Hello there." (then 1.5 s of quiet) into a Realtime WebSocket; returns at response.done."""
    import base64
    import json

    from vagus.audio.resample import resample

    audio, rate = load_fixture("hello")
    pcm = np.concatenate([resample(audio, rate, 24000), np.zeros(36000, np.float32)])
    await ws.send_json({"type": "input_audio_buffer.append",
                        "audio": base64.b64encode((pcm * 32767).astype("<i2").tobytes()).decode()})  # fmt: skip
    while json.loads((await ws.receive(timeout=60)).data)["type"] != "response.done":
        pass
