import itertools

import numpy as np
import pytest
import soundfile as sf

from vagus.audio import (
    AudioFileError,
    FrameSplitter,
    StreamResampler,
    float_to_int16,
    int16_to_float,
    read_audio,
    resample,
    rms_dbfs,
    to_mono,
    write_wav,
)


def tone(freq: float, rate: int, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def dominant_frequency(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[np.argmax(spectrum)])


def test_int16_round_trip_and_clipping():
    x = np.array([0.0, 0.5, -0.5, 1.5, -1.5], dtype=np.float32)
    y = float_to_int16(x)
    assert y.dtype == np.int16
    assert list(y[3:]) == [32767, -32768]  # clipped, not wrapped
    assert np.allclose(int16_to_float(y)[:3], x[:3], atol=1e-4)


def test_to_mono_averages_channels_and_rejects_3d():
    stereo = np.stack([np.ones(4), -np.ones(4) * 0.5], axis=1).astype(np.float32)
    assert np.allclose(to_mono(stereo), 0.25)
    with pytest.raises(ValueError):
        to_mono(np.zeros((2, 2, 2)))


def test_rms_dbfs():
    assert rms_dbfs(np.zeros(10, dtype=np.float32)) == -120.0
    assert abs(rms_dbfs(np.ones(100, dtype=np.float32) * 0.5) - (-6.02)) < 0.05


def test_frame_splitter_exact_frames_across_odd_blocks():
    splitter = FrameSplitter(512)
    data = np.arange(2000, dtype=np.float32)
    out = []
    for start in range(0, 2000, 320):
        out += splitter.push(data[start : start + 320])
    assert len(out) == 3 and splitter.pending == 2000 - 3 * 512
    assert np.array_equal(np.concatenate(out), data[: 3 * 512])


@pytest.mark.parametrize(
    ("src", "dst"), [(8000, 16000), (16000, 48000), (48000, 16000), (24000, 16000), (22050, 48000)]
)
def test_resample_keeps_pitch_and_duration(src, dst):
    x = tone(440, src)
    y = resample(x, src, dst)
    assert abs(len(y) - len(x) * dst / src) <= 2
    assert abs(dominant_frequency(y, dst) - 440) < 5


def test_stream_resampler_matches_one_shot():
    x = tone(300, 48000, 1.0)
    stream = StreamResampler(48000, 16000)
    parts = [stream.process(x[i : i + 960]) for i in range(0, len(x), 960)]
    parts.append(stream.process(np.zeros(0, dtype=np.float32), last=True))
    y = np.concatenate(parts)
    ref = resample(x, 48000, 16000)
    assert abs(len(y) - len(ref)) <= 2
    lag = round(stream.delay_s * 16000)
    y = y[lag:]
    n = min(len(y), len(ref)) - 200
    assert np.max(np.abs(y[200:n] - ref[200:n])) < 0.02


@pytest.mark.parametrize(("src", "dst"), [(16000, 48000), (48000, 16000), (8000, 16000), (24000, 48000)])
def test_integer_ratio_stream_is_accurate_and_nearly_immediate(src, dst):
    stream = StreamResampler(src, dst)
    x = tone(1000, src, 1.0)
    y = np.concatenate([stream.process(x[i : i + src // 100]) for i in range(0, len(x), src // 100)])
    assert len(y) == len(x) * dst // src  # nothing withheld
    ref = tone(1000, dst, 1.0)
    assert stream.delay_s <= 0.0015  # soxr's HQ streams withhold ~25 ms
    lag = round(stream.delay_s * dst)
    err = y[lag + 200 : len(ref) - 200] - ref[200 : len(ref) - 200 - lag]
    assert 10 * np.log10(np.mean(err**2) / np.mean(ref**2)) < -60


def test_downsampling_stream_removes_what_the_lower_rate_cannot_hold():
    stream = StreamResampler(48000, 16000)
    x = tone(10000, 48000, 1.0)
    y = np.concatenate([stream.process(x[i : i + 480]) for i in range(0, len(x), 480)])
    assert 10 * np.log10(np.mean(y[500:] ** 2) / np.mean(x**2)) < -60


def test_stream_output_does_not_depend_on_how_the_input_is_cut():
    x = np.random.default_rng(0).standard_normal(48000).astype(np.float32)
    even = StreamResampler(48000, 16000)
    odd = StreamResampler(48000, 16000)
    y1 = np.concatenate([even.process(x[i : i + 480]) for i in range(0, len(x), 480)])
    cuts = [0, 7, 100, 101, 1000, 4801, 20000, 48000]
    y2 = np.concatenate([odd.process(x[a:b]) for a, b in itertools.pairwise(cuts)])
    np.testing.assert_allclose(y1, y2, atol=1e-5)


def test_resample_rejects_bad_rates():
    with pytest.raises(ValueError):
        resample(np.zeros(10, dtype=np.float32), 0, 16000)


def test_wav_round_trip(tmp_path):
    x = tone(500, 16000)
    write_wav(tmp_path / "a.wav", x, 16000)
    y, rate = read_audio(tmp_path / "a.wav")
    assert rate == 16000 and np.allclose(x, y, atol=1e-3)


def test_read_stereo_float_and_24bit(tmp_path):
    x = tone(500, 48000)
    sf.write(tmp_path / "f.wav", np.stack([x, x], axis=1), 48000, subtype="FLOAT")
    sf.write(tmp_path / "p24.wav", x, 44100, subtype="PCM_24")
    y, rate = read_audio(tmp_path / "f.wav")
    assert rate == 48000 and y.ndim == 1 and np.allclose(x, y, atol=1e-6)
    assert read_audio(tmp_path / "p24.wav")[1] == 44100


def test_read_audio_errors_are_clear(tmp_path):
    with pytest.raises(AudioFileError, match="no such file"):
        read_audio(tmp_path / "missing.wav")
    with pytest.raises(AudioFileError, match="directory"):
        read_audio(tmp_path)
    bogus = tmp_path / "not.wav"
    bogus.write_text("this is not audio at all")
    with pytest.raises(AudioFileError, match="not a readable audio file"):
        read_audio(bogus)
    truncated = tmp_path / "trunc.wav"
    truncated.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt ")
    with pytest.raises(AudioFileError):
        read_audio(truncated)


@pytest.mark.parametrize(
    ("rate", "channels", "seconds", "message"),
    [(1, 1, 1.0, "1 Hz"), (2**31 - 1, 1, 0.0, "Hz is outside"), (16000, 12, 0.1, "12 channels")],
)
def test_a_header_vagus_cannot_take_is_refused_before_reading(tmp_path, rate, channels, seconds, message):
    import struct

    from vagus.audio.wav import AudioFileError, read_audio

    frames = max(1, int(rate * seconds)) if rate < 10**6 else 16
    data = b"\x00\x00" * frames * channels
    fmt = struct.pack("<IHHIIHH", 16, 1, channels, rate, (rate * 2 * channels) % 2**32, 2 * channels, 16)
    path = tmp_path / "odd.wav"
    path.write_bytes(
        b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " + fmt + b"data" + struct.pack("<I", len(data)) + data
    )
    with pytest.raises(AudioFileError, match=message):
        read_audio(path)


def test_an_output_that_is_not_a_writable_file_is_refused(tmp_path):
    from vagus.audio.wav import AudioFileError, check_output_path

    with pytest.raises(AudioFileError, match="is a folder"):
        check_output_path(tmp_path)
    fifo = tmp_path / "pipe.wav"
    __import__("os").mkfifo(fifo)
    with pytest.raises(AudioFileError, match="not a regular file"):
        check_output_path(fifo)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        import os

        if os.geteuid() != 0:  # root writes anywhere
            with pytest.raises(AudioFileError, match="no permission"):
                check_output_path(locked / "out.wav")
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize(("src", "dst", "block"), [(48000, 16000, 960), (48000, 16000, 481), (16000, 48000, 160)])
def test_silence_skips_the_filter_but_gives_the_same_samples(src, dst, block):
    from vagus.audio.resample import IntegerRatioResampler

    rng = np.random.default_rng(1)
    parts = [
        np.zeros(block * 3, np.float32),
        rng.standard_normal(block).astype(np.float32),
        np.zeros(block * 4, np.float32),
    ]
    signal = np.concatenate(parts * 2)
    fast, reference = IntegerRatioResampler(src, dst), IntegerRatioResampler(src, dst)
    out_fast = np.concatenate([fast.process(signal[i : i + block]) for i in range(0, len(signal), block)])
    outs = []  # the reference runs the filter on every block
    for i in range(0, len(signal), block):
        reference._quiet = False
        outs.append(reference.process(signal[i : i + block]))
    np.testing.assert_allclose(out_fast, np.concatenate(outs), atol=1e-7)
