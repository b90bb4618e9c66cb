import numpy as np
import pytest

from vagus.audio.room import EchoPath, synthetic_rir
from vagus.core.frames import AudioFrame
from vagus.senses.delay import DelayEstimator
from vagus.senses.denoise import _At48k, make_denoiser
from vagus.senses.echo import Aec3Echo, make_echo_engine
from vagus.senses.front_end import build_front_end
from vagus.senses.reference import FarEndReference
from vagus.senses.snr import SnrTracker, wet_share

R = 16000


def db(x):
    return 10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-12)


@pytest.mark.parametrize("delay_ms", [20, 130, 320])
def test_delay_estimator_finds_the_echo_delay(delay_ms):
    rng = np.random.default_rng(delay_ms)
    ref = (rng.standard_normal(R * 3) * 0.1).astype(np.float32)
    d = int(delay_ms * R / 1000)
    mic = (
        np.concatenate([np.zeros(d, np.float32), ref])[: len(ref)] * 0.5
        + rng.standard_normal(len(ref)).astype(np.float32) * 0.01
    )
    est = DelayEstimator(R)
    for i in range(0, len(ref), 320):
        est.push(mic[i : i + 320], ref[i : i + 320])
    assert est.delay_ms == pytest.approx(delay_ms, abs=1)
    assert est.confirmations >= 1


def test_delay_estimator_learns_nothing_without_an_echo():
    rng = np.random.default_rng(0)
    est = DelayEstimator(R)
    for _ in range(150):
        est.push(rng.standard_normal(320).astype(np.float32) * 0.05, rng.standard_normal(320).astype(np.float32) * 0.1)
    assert est.confirmations == 0 and est.delay_ms is None


def test_reference_queue_lines_up_and_stays_bounded():
    ref = FarEndReference(R, max_lag_ms=100)
    ref.push(np.arange(320, dtype=np.float32))
    assert np.array_equal(ref.take(160), np.arange(160))
    assert np.array_equal(ref.take(320)[:160], np.arange(160, 320)) and ref.queued == 0
    for _ in range(50):  # output clock running ahead of the input clock
        ref.push(np.ones(320, np.float32))
    assert ref.queued == 1600


def test_echo_path_delays_and_convolves():
    path = EchoPath(R, delay_ms=10, gain_db=-6, rir=np.array([1.0, 0.5], np.float32))
    path.feed(np.array([1.0] + [0.0] * 319, np.float32))
    out = path.take(320)
    assert out[160] == pytest.approx(0.501, abs=1e-3) and out[161] == pytest.approx(0.25, abs=1e-3)
    assert abs(np.sum(synthetic_rir() ** 2) - 1) < 1e-5


def speechlike(seconds: float, seed: int = 0) -> np.ndarray:
    """Amplitude-modulated harmonic noise: speech-shaped enough for the cancellers to adapt on."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(R * seconds)) / R
    carrier = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in (150, 300, 450, 900, 1800))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t) ** 2
    return (carrier * envelope * 0.05 + rng.standard_normal(len(t)) * 0.02).astype(np.float32)


def run(engine, mic, ref):
    return np.concatenate([engine.process(mic[i : i + 160], ref[i : i + 160]) for i in range(0, len(mic) - 159, 160)])


def test_aec3_cancels_a_room_echo_by_more_than_25_db(fixtures_dir):
    from vagus.audio.wav import read_audio

    far = np.concatenate([read_audio(fixtures_dir / f"{n}.wav")[0] for n in ("long_question", "two_questions")])
    path = EchoPath(R, 80, 0.0)
    path.feed(far)
    mic = path.take(len(far))
    out = run(Aec3Echo(), mic, far)
    talk = np.abs(far[3 * R : len(out)]) > 0.01  # compare where the agent is speaking
    assert db(mic[3 * R : len(out)][talk]) - db(out[3 * R :][talk]) > 25


def test_aec3_passes_the_user_through_when_no_echo_reaches_the_microphone():
    far = speechlike(4, seed=1)
    user = speechlike(4, seed=2)
    user[: 2 * R] = 0  # the user starts after the agent has talked for 2 s (headphones: no echo)
    engine = Aec3Echo()
    out = run(engine, user, far)
    assert not engine.echo_present
    assert np.allclose(out[3 * R :], user[3 * R : len(out)], atol=1e-4)


def test_speex_engine_reduces_echo():
    far = speechlike(8, seed=3)
    path = EchoPath(R, 40, 0.0)
    path.feed(far)
    mic = path.take(len(far))
    out = run(make_echo_engine("speex"), mic, far)
    assert db(mic[6 * R :]) - db(out[6 * R :]) > 6


@pytest.mark.parametrize("name", ["gtcrn", "rnnoise", "dfn3", "apm"])
def test_denoisers_reduce_noise_and_keep_length(name):
    rng = np.random.default_rng(0)
    noise = (rng.standard_normal(R * 2) * 0.05).astype(np.float32)
    denoiser = make_denoiser(name)
    out = np.concatenate([denoiser.process(noise[i : i + 160]) for i in range(0, len(noise), 160)])
    assert len(out) == len(noise)
    assert db(out[R:]) < db(noise[R:]) - 6


def _blocks(process, x):
    return np.concatenate([process(x[i : i + 160]) for i in range(0, len(x), 160)])


def _lag(out, ref, max_lag=800):
    n = len(ref) - max_lag
    return int(np.argmax([np.dot(out[k : k + n], ref[:n]) for k in range(max_lag)]))


class _Passthrough(_At48k):
    def _run(self, frame48):
        return frame48.copy()


@pytest.mark.parametrize("name", ["rnnoise", "dfn3"])
def test_denoiser_delay_is_what_the_blend_assumes(name, fixtures_dir):
    """The dry path is delayed by `delay_frames` to line up with the engine's output; a wrong
    constant would comb-filter the blend."""
    from vagus.audio.wav import read_audio

    speech = read_audio(fixtures_dir / "long_question.wav")[0][: 3 * R]
    dry = _blocks(_Passthrough(480, clean_snr_db=0).process, speech)
    denoiser = make_denoiser(name, clean_snr_db=0)
    wet = _blocks(denoiser.process, speech)
    assert _lag(wet, dry) == denoiser.delay_frames * 160
    assert _lag(dry, speech) <= 32  # resampling there and back costs about 1.5 ms, no more


def _speech_like(seconds, rng):
    """Bursts of modulated noise (syllables) with pauses, at about -20 dBFS while 'talking'."""
    x = rng.standard_normal(seconds * R).astype(np.float32) * 0.1
    envelope = (np.sin(2 * np.pi * 3 * np.arange(len(x)) / R) > 0.2).astype(np.float32)
    return x * envelope


@pytest.mark.parametrize("snr_db", [0, 10, 20])
def test_snr_tracker_estimates_the_input_snr(snr_db):
    rng = np.random.default_rng(1)
    speech = _speech_like(4, rng)
    talking = np.mean(speech[speech != 0] ** 2)
    noise = rng.standard_normal(len(speech)).astype(np.float32) * np.sqrt(talking * 10 ** (-snr_db / 10))
    tracker = SnrTracker()
    x = speech + noise
    estimates = [tracker.update(float(np.mean(x[i : i + 160] ** 2))) for i in range(0, len(x), 160)]
    if snr_db == 0:
        assert estimates[-1] is None or estimates[-1] < 5  # speech barely above the floor: suppress fully
    else:
        assert estimates[-1] == pytest.approx(snr_db, abs=3)


def test_snr_tracker_has_no_estimate_on_noise_alone_and_wet_share_maps_it():
    tracker = SnrTracker()
    rng = np.random.default_rng(2)
    for _ in range(300):
        assert tracker.update(float(np.mean((rng.standard_normal(480) * 0.01) ** 2))) is None
    assert wet_share(None, 25) == 1.0
    assert wet_share(0, 25) == 1.0
    assert wet_share(12.5, 25) == pytest.approx(0.5)
    assert wet_share(40, 25) == 0.0
    assert wet_share(40, 0) == 1.0


def test_adaptive_blend_leaves_clean_speech_nearly_untouched(fixtures_dir):
    """DFN3 alone measured 0 to −2 dB SI-SDR on clean speech; blended by SNR it must stay close."""
    from vagus.audio.wav import read_audio

    speech = read_audio(fixtures_dir / "long_question.wav")[0][: 3 * R]
    rng = np.random.default_rng(3)
    noisy = speech + rng.standard_normal(len(speech)).astype(np.float32) * 1e-4  # ~45 dB SNR
    denoiser = make_denoiser("dfn3")
    out = _blocks(denoiser.process, noisy)
    lag = _lag(out, speech)
    assert denoiser.blend.wet < 0.2
    n = len(speech) - 800
    tail = slice(R, n)  # after the estimate has settled
    residual = out[lag : lag + n][tail] - speech[:n][tail]
    assert db(residual) < db(speech[:n][tail]) - 20


def test_front_end_is_off_when_every_stage_is_off_and_reports_costs():
    assert build_front_end(None, None, False) is None
    fe = build_front_end("aec3", "apm", True)
    assert fe.names == ["aec3", "apm", "apm-agc"]
    out = fe.process(AudioFrame(np.zeros(250, np.float32), R, 1.0))
    assert out is not None and len(out.pcm) == 160 and out.t == 1.0
    out = fe.process(AudioFrame(np.zeros(320, np.float32), R, 1.0 + 250 / R))
    assert len(out.pcm) == 320 and out.t == pytest.approx(1.0 + 160 / R)
    costs = fe.stats.cost_us_per_block()
    assert set(costs) == {"aec3", "apm", "apm-agc", "total"}


def test_unknown_engines_are_refused():
    with pytest.raises(ValueError):
        make_echo_engine("magic")
    with pytest.raises(ValueError):
        make_denoiser("magic")


def _si_sdr(estimate, reference):
    alpha = np.dot(estimate, reference) / np.dot(reference, reference)
    target = alpha * reference
    return 10 * np.log10(np.sum(target**2) / np.sum((estimate - target) ** 2))


def test_gtcrn_returns_its_input_480_samples_late_and_cleaner(fixtures_dir):
    from vagus.audio.wav import read_audio
    from vagus.senses.gtcrn import DELAY

    speech = read_audio(fixtures_dir / "long_question.wav")[0][: 4 * R]
    speech = speech / np.sqrt(np.mean(speech**2)) * 0.05
    rng = np.random.default_rng(4)
    noisy = speech + rng.standard_normal(len(speech)).astype(np.float32) * 0.05 * 10 ** (-5 / 20)  # 5 dB
    denoiser = make_denoiser("gtcrn")
    assert denoiser.blend.wet == 1.0  # unblended by default: it keeps clean speech intact
    out = _blocks(denoiser.process, noisy)
    assert len(out) == len(noisy)
    assert _lag(out, speech) == DELAY
    aligned = out[DELAY:]
    reference = speech[: len(aligned)]
    assert _si_sdr(aligned, reference) > _si_sdr(noisy[: len(aligned)], reference) + 6
    clean_out = _blocks(make_denoiser("gtcrn").process, speech)[DELAY:]
    assert _si_sdr(clean_out, reference) > 20  # clean speech passes nearly untouched


def test_gtcrn_loads_a_model_path_and_refuses_other_models(tmp_path):
    from vagus.packaged import ModelNotFoundError
    from vagus.senses.gtcrn import packaged_gtcrn_model
    from vagus.senses.silero import default_silero_path

    copy = tmp_path / "my_gtcrn.onnx"
    copy.write_bytes(packaged_gtcrn_model().read_bytes())
    assert make_denoiser("gtcrn", model_path=copy).streamlined.scatters_replaced == 18
    with pytest.raises(ModelNotFoundError, match="not a streaming GTCRN model"):
        make_denoiser("gtcrn", model_path=default_silero_path())
    with pytest.raises(ModelNotFoundError, match="not found"):
        make_denoiser("gtcrn", model_path=tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelNotFoundError, match="not a usable ONNX model"):
        make_denoiser("gtcrn", model_path=tmp_path / "junk.onnx")
    with pytest.raises(ValueError, match="only used by the gtcrn"):
        make_denoiser("rnnoise", model_path=copy)


def test_fft_sizes_for_the_delay_estimator_are_small_and_fast():
    from vagus.senses.delay import fast_fft_size

    assert [fast_fft_size(n) for n in (1, 7, 1025, 40000, 40001)] == [1, 8, 1080, 40000, 40500]
    for n in range(1, 3000):
        m = fast_fft_size(n)
        assert m >= n
        while m % 2 == 0:
            m //= 2
        while m % 3 == 0:
            m //= 3
        while m % 5 == 0:
            m //= 5
        assert m == 1


def test_delay_estimator_ignores_a_peak_on_the_edge_of_its_search():
    """An echo exactly `max_delay_ms` late (in practice: the agent repeating words it said before)
    is no delay estimate: a canceller moved there stops cancelling."""
    rng = np.random.default_rng(5)
    ref = (rng.standard_normal(R * 3) * 0.1).astype(np.float32)
    d = int(500 * R / 1000)
    mic = np.concatenate([np.zeros(d, np.float32), ref])[: len(ref)] * 0.5
    est = DelayEstimator(R, max_delay_ms=500)
    for i in range(0, len(ref), 320):
        est.push(mic[i : i + 320], ref[i : i + 320])
    assert est.delay_ms is None


def test_aec3_sleeps_while_nothing_can_echo_and_cancels_again_when_the_agent_speaks(fixtures_dir):
    """A second after the agent's last sound only AEC3 runs (the linear canceller, double-talk detector
    and delay estimator rest); the next time the agent speaks it cancels again as before the pause."""
    from vagus.audio.wav import read_audio

    far = read_audio(fixtures_dir / "long_question.wav")[0]
    quiet = np.zeros(3 * R, np.float32)
    reference = np.concatenate([far, quiet, far])
    path = EchoPath(R, 80, 0.0)
    path.feed(reference)
    user = speechlike(2, seed=3) * 0.5
    mic = path.take(len(reference))
    mic[len(far) + R : len(far) + 3 * R] += user  # the user talks while the agent is quiet
    engine = Aec3Echo()
    out = run(engine, mic, reference)
    silent_run, expected = 0, 0  # blocks more than 1 s after the agent's last sound
    for i in range(0, len(reference) - 159, 160):
        silent_run = 0 if reference[i : i + 160].any() else silent_run + 1
        expected += silent_run > 100
    assert engine.skipped_blocks == expected and expected * 160 >= 2 * R
    start = len(far) + int(1.2 * R)
    assert db(out[start : start + R]) > db(mic[start : start + R]) - 3  # the user passes while it rests
    second = slice(len(far) + len(quiet) + R, len(out))
    talk = np.abs(reference[second]) > 0.01
    assert db(mic[second][talk]) - db(out[second][talk]) > 25  # cancels again after the pause


def test_the_direct_apm_calls_match_livekits_wrapper():
    """The fixed-bytes fast path (senses/apm.py) and livekit's public wrapper cancel identically."""
    from vagus.senses.apm import BLOCK, ApmBlock

    rng = np.random.default_rng(3)
    ref = (0.1 * rng.standard_normal(BLOCK * 300)).astype(np.float32)
    mic = (0.5 * np.roll(ref, 480) + 0.01 * rng.standard_normal(len(ref))).astype(np.float32)
    direct = ApmBlock(echo_cancellation=True)
    wrapped = ApmBlock.__new__(ApmBlock)
    ApmBlock._direct_calls, saved = (lambda self: (_ for _ in ()).throw(RuntimeError("off"))), ApmBlock._direct_calls
    try:
        wrapped.__init__(echo_cancellation=True)  # type: ignore[misc]
    finally:
        ApmBlock._direct_calls = saved
    assert direct._direct is not None and wrapped._direct is None
    for i in range(300):
        block = slice(i * BLOCK, (i + 1) * BLOCK)
        direct.reverse(ref[block])
        wrapped.reverse(ref[block])
        a, b = direct.process(mic[block]), wrapped.process(mic[block])
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, b)
    assert float(np.mean(a**2)) < float(np.mean(mic[-BLOCK:] ** 2)) / 10  # it cancels (> 10 dB)
