import numpy as np
import pytest

from tests.conftest import load_fixture
from vagus.config import VadConfig as VadSettings
from vagus.senses.silero import CHUNK, SileroState
from vagus.senses.vad import CHUNK_SECONDS, VoiceActivityDetector


def drive(vad, probabilities):
    """Feed probabilities chunk by chunk on a virtual timeline; return (index, transition) pairs."""
    out = []
    for i, p in enumerate(probabilities):
        tr = vad.feed_probability(p, i * CHUNK_SECONDS)
        if tr is not None:
            out.append((i, tr))
    return out


def test_hysteresis_needs_min_speech_and_min_silence(silero):
    vad = VoiceActivityDetector(
        silero, VadSettings(start_threshold=0.5, stop_threshold=0.35, min_speech_ms=64, min_silence_ms=160)
    )
    probs = [0.1, 0.9, 0.1, 0.9, 0.9, 0.9, 0.4, 0.2, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]
    transitions = drive(vad, probs)
    # one chunk of speech (32 ms) is not enough; two in a row (64 ms) start speech at chunk 3
    assert transitions[0][0] == 4 and transitions[0][1].speaking
    assert transitions[0][1].at == pytest.approx(3 * CHUNK_SECONDS)
    # 0.4 is between the thresholds: neither speech nor silence; the 0.2 run is broken by 0.9
    stop_index, stop = transitions[1]
    assert not stop.speaking and stop.at == pytest.approx(9 * CHUNK_SECONDS)
    assert stop_index == 13  # 5 chunks = 160 ms of silence
    assert len(transitions) == 2


def test_silent_since_is_the_start_the_stop_will_carry(silero):
    vad = VoiceActivityDetector(
        silero, VadSettings(start_threshold=0.5, stop_threshold=0.35, min_speech_ms=64, min_silence_ms=160)
    )
    seen = []
    for i, p in enumerate([0.9, 0.9, 0.9, 0.2, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1]):
        tr = vad.feed_probability(p, i * CHUNK_SECONDS)
        seen.append(vad.silent_since)
        if tr is not None and not tr.speaking:
            stop = tr
    assert seen[:3] == [None, None, None]  # not speaking yet, then speaking
    assert seen[3] == pytest.approx(3 * CHUNK_SECONDS) and seen[4] is None  # a gap between words
    assert seen[5:9] == [pytest.approx(5 * CHUNK_SECONDS)] * 4
    assert stop.at == seen[8] and seen[9] is None  # the stop carries the same time; then silent


def test_settings_are_validated():
    with pytest.raises(ValueError):
        VadSettings(start_threshold=0.3, stop_threshold=0.5)
    with pytest.raises(ValueError):
        VadSettings(min_speech_ms=-1)


def test_silero_finds_the_speech_in_a_recording(silero, manifest):
    audio, rate = load_fixture("hello")
    assert rate == 16000
    vad = VoiceActivityDetector(silero)
    transitions = []
    for i in range(0, len(audio), 320):  # 20 ms transport frames
        transitions += vad.process(audio[i : i + 320], i / rate)
    spoken = manifest["hello"][0]
    starts = [tr for tr in transitions if tr.speaking]
    stops = [tr for tr in transitions if not tr.speaking]
    assert len(starts) == 1 and len(stops) == 1
    assert abs(starts[0].at - spoken["start"]) < 0.12
    assert abs(stops[0].at - spoken["end"]) < 0.2


def test_silence_and_quiet_noise_are_not_speech(silero):
    vad = VoiceActivityDetector(silero)
    rng = np.random.default_rng(1)
    noise = (rng.standard_normal(16000 * 3) * 0.01).astype(np.float32)
    for signal in (np.zeros(16000 * 2, dtype=np.float32), noise):
        vad.reset()
        found = [tr for i in range(0, len(signal), 320) for tr in vad.process(signal[i : i + 320], i / 16000)]
        assert found == []


def test_batched_inference_matches_one_by_one(silero):
    audio, _ = load_fixture("hello")
    chunks = np.stack([audio[16000 + i * CHUNK : 16000 + (i + 1) * CHUNK] for i in range(3)])
    singles = []
    for i in range(3):
        state = SileroState()
        singles.append([silero.infer(chunks[i], state) for _ in range(2)])
    states = [SileroState() for _ in range(3)]
    batched = [silero.infer_batch(chunks, states) for _ in range(2)]
    assert np.allclose(np.array(singles).T, np.array(batched), atol=1e-5)


def test_the_end_of_speech_is_placed_inside_the_last_voiced_chunk(silero):
    """The model decides per 32 ms chunk; the stop carries where the energy of the last voiced chunk
    ends (8 ms steps), not the start of the first quiet chunk."""
    from vagus.senses.vad import speech_end_within

    vad = VoiceActivityDetector(silero, VadSettings(min_speech_ms=64, min_silence_ms=128))
    tone = (0.3 * np.sin(np.arange(CHUNK) * 2 * np.pi * 220 / 16000)).astype(np.float32)
    tail = tone.copy()
    tail[200:] = 0.0  # the speech ends 12.5 ms into this chunk
    transitions = []
    chunks = [tone] * 4 + [tail] + [np.zeros(CHUNK, np.float32)] * 5
    probabilities = [0.9] * 5 + [0.1] * 5
    for i, (chunk, p) in enumerate(zip(chunks, probabilities, strict=True)):
        tr = vad.feed_probability(p, i * CHUNK_SECONDS, chunk)
        if tr is not None:
            transitions.append(tr)
    stop = transitions[-1]
    assert not stop.speaking
    true_end = 4 * CHUNK_SECONDS + 200 / 16000
    assert true_end <= stop.at <= true_end + 0.008
    # without the chunk's audio, the boundary of the quiet run as before
    assert speech_end_within(None, 1.0) == 1.0
    assert speech_end_within(np.zeros(CHUNK, np.float32), 1.0) == 1.0
