"""The Realtime protocol's pieces: G.711 against the standard's tables, formats at the edge, and the
session settings (checked field by field; a bad update changes nothing)."""

from __future__ import annotations

import numpy as np
import pytest

from vagus.config import AgentConfig
from vagus.transports.realtime.audio import (
    ALAW_DECODE,
    ULAW_DECODE,
    AudioFormat,
    InputDecoder,
    OutputEncoder,
    alaw_encode,
    ulaw_encode,
)
from vagus.transports.realtime.settings import RealtimeSettings, SettingError

# ITU-T G.711 reference points: code → linear value (16-bit)
ULAW_POINTS = {0xFF: 0, 0x7F: 0, 0x80: 32124, 0x00: -32124, 0xF0: 120, 0x70: -120, 0xCF: 924}
ALAW_POINTS = {0xD5: 8, 0x55: -8, 0xAA: 32256, 0x2A: -32256, 0xC5: 264}


def test_g711_tables_match_the_standard():
    for code, value in ULAW_POINTS.items():
        assert ULAW_DECODE[code] == value, hex(code)
    for code, value in ALAW_POINTS.items():
        assert ALAW_DECODE[code] == value, hex(code)


@pytest.mark.parametrize(("encode", "table"), [(ulaw_encode, ULAW_DECODE), (alaw_encode, ALAW_DECODE)])
def test_g711_round_trips_every_code_and_keeps_a_tone(encode, table):
    codes = np.arange(256, dtype=np.uint8)
    again = np.frombuffer(encode(table[codes]), np.uint8)
    assert np.array_equal(table[again], table[codes])  # µ-law's two zeros decode alike
    tone = (np.sin(np.arange(8000) * 2 * np.pi * 440 / 8000) * 20000).astype(np.int16)
    decoded = table[np.frombuffer(encode(tone), np.uint8)].astype(np.float64)
    snr = 10 * np.log10(np.sum(tone.astype(np.float64) ** 2) / np.sum((decoded - tone) ** 2))
    assert snr > 30  # G.711's ~38 dB for a loud tone


def test_g711_agrees_with_audioop_where_python_still_has_it():
    audioop = pytest.importorskip("audioop")
    pcm = (np.random.default_rng(1).normal(0, 6000, 4000)).clip(-32768, 32767).astype(np.int16)
    raw = pcm.astype("<i2").tobytes()
    assert ulaw_encode(pcm) == audioop.lin2ulaw(raw, 2)
    assert alaw_encode(pcm) == audioop.lin2alaw(raw, 2)
    codes = bytes(range(256))
    assert np.array_equal(ULAW_DECODE, np.frombuffer(audioop.ulaw2lin(codes, 2), "<i2"))
    assert np.array_equal(ALAW_DECODE, np.frombuffer(audioop.alaw2lin(codes, 2), "<i2"))


def test_formats_convert_at_the_edge():
    tone24 = (np.sin(np.arange(24000) * 2 * np.pi * 300 / 24000) * 0.5).astype(np.float32)
    pcm = (tone24 * 32767).astype("<i2").tobytes()
    decoder = InputDecoder(AudioFormat.parse({"type": "audio/pcm", "rate": 24000}, "f"))
    heard = np.concatenate([decoder.decode(pcm[:1001]), decoder.decode(pcm[1001:])])  # an odd split
    assert abs(len(heard) - 16000) <= 160 and 0.3 < np.abs(heard).max() < 0.6
    for kind in ("audio/pcmu", "audio/pcma", "g711_ulaw"):
        fmt = AudioFormat.parse(kind if kind.startswith("g711") else {"type": kind}, "f")
        sent = OutputEncoder(fmt).encode(tone24)
        assert fmt.rate == 8000 and abs(len(sent) - 8000) <= 32
        back = InputDecoder(fmt).decode(sent)
        assert abs(len(back) - 16000) <= 128 and 0.3 < np.abs(back).max() < 0.6
    with pytest.raises(ValueError, match="24000"):
        AudioFormat.parse({"type": "audio/pcm", "rate": 16000}, "session.audio.input.format")


def test_settings_default_to_the_agents_turn_taking_and_update_whole_or_not_at_all():
    settings = RealtimeSettings.for_agent(AgentConfig(), None)
    assert settings.turn_detection.type == "semantic_vad"  # the agent's end-of-turn model
    plain = RealtimeSettings.for_agent(AgentConfig.model_validate({"turns": {"end_of_turn": {"model": "none"}}}), "m")
    assert plain.turn_detection.type == "server_vad" and plain.model == "m"
    settings.update({"instructions": "Hi", "audio": {"input": {"turn_detection": {"type": "server_vad",
                                                                                 "silence_duration_ms": 700}}}})  # fmt: skip
    assert settings.instructions == "Hi" and settings.turn_detection.silence_duration_ms == 700
    with pytest.raises(SettingError) as bad:
        settings.update({"instructions": "changed", "tools": [{"type": "function", "name": "no spaces"}]})
    assert bad.value.param == "session.tools[0].name"
    assert settings.instructions == "Hi"  # nothing of a bad update is applied
    settings.update({"turn_detection": None, "input_audio_format": "g711_alaw", "modalities": ["text"]})  # the beta
    assert settings.turn_detection.type is None and settings.input_format.type == "audio/pcma"
    assert settings.to_json()["output_modalities"] == ["text"]
    assert settings.to_json()["audio"]["input"]["turn_detection"] is None
    settings.update({"type": "transcription"})
    assert settings.to_json()["type"] == "transcription"


def test_settings_validate_as_the_sdk_types():
    from openai.types.realtime import RealtimeSessionCreateRequest

    settings = RealtimeSettings.for_agent(AgentConfig(), "vagus")
    settings.update({"tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}],
                     "audio": {"input": {"transcription": {"model": "whisper-1", "language": "en"}}}})  # fmt: skip
    RealtimeSessionCreateRequest.model_validate(settings.to_json())
