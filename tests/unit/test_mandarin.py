"""Mandarin: the rule brain's skills in Chinese, the STT settings it needs, espeak-ng as the voice."""

from __future__ import annotations

import shutil
from datetime import datetime

import numpy as np
import pytest

from vagus.config import AgentConfig, load_config
from vagus.services.llm.offline import OfflineBrain

HAVE_ESPEAK = shutil.which("espeak-ng") is not None


def ask(*said: str) -> str:
    brain = OfflineBrain(now=lambda: datetime(2026, 12, 1, 17, 5))
    return brain.reply([{"role": "user", "content": s} for s in said])


def test_the_rule_brain_answers_in_chinese():
    assert ask("你好") == "你好！我是Vagus。有什么可以帮你的？"
    assert ask("七乘以六等于多少？") == "七乘以六等于42。"
    assert ask("12加30是多少") == "12加30等于42。"
    assert ask("一百除以零") == "不能除以零。"
    assert ask("现在几点了？") == "现在是17点05分。"
    assert ask("今天几号？") == "今天是2026年12月1日，星期二。"
    assert ask("我叫小明。") == "你好，小明，我记住了。"
    assert ask("我叫小明。", "我叫什么？") == "你叫小明。"
    assert ask("附近有没有好吃的饭馆？").startswith("我听到你说：附近有没有好吃的饭馆。")


def test_chinese_needs_a_multilingual_whisper_and_gets_a_simplified_prompt():
    with pytest.raises(ValueError, match="English-only"):
        AgentConfig.model_validate({"stt": {"provider": "whisper", "language": "zh"}})
    config = AgentConfig.model_validate({"stt": {"provider": "whisper", "language": "zh", "model_path": "base"}})
    assert config.stt.prompt is None  # the provider fills in the Simplified prompt
    from vagus.services.stt.whisper_local import DEFAULT_PROMPTS

    assert DEFAULT_PROMPTS["zh"] == "以下是普通话的句子。"


def test_the_mandarin_example_config_loads():
    from pathlib import Path

    config = load_config(Path(__file__).resolve().parents[2] / "examples" / "mandarin.yaml", env={})
    assert config.stt.language == "zh" and config.tts.provider == "espeak"


@pytest.mark.skipif(not HAVE_ESPEAK, reason="espeak-ng is not installed (apt-get install espeak-ng)")
async def test_espeak_speaks_chinese_and_a_missing_voice_fails_at_load():
    from vagus.services.errors import ProviderError
    from vagus.services.tts.espeak import EspeakTTS

    tts = EspeakTTS()
    tts.check_voice()
    blocks = [b async for b in tts.stream("七乘以六等于四十二。")]
    audio = np.concatenate(blocks)
    assert len(audio) / tts.sample_rate > 1.0 and np.abs(audio).max() > 0.05
    slower = np.concatenate([b async for b in tts.stream("七乘以六等于四十二。", speed=0.8)])
    assert len(slower) > len(audio) * 1.1  # the pace follows the user (perception/prosody.py)
    with pytest.raises(ProviderError, match="no voice 'nope'"):
        EspeakTTS(voice="nope").check_voice()
    with pytest.raises(ProviderError, match="not installed"):
        EspeakTTS(binary="no-such-espeak")
