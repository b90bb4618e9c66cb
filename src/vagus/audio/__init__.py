"""PCM buffers, resampling and WAV I/O."""

from vagus.audio.pcm import FrameSplitter, float_to_int16, int16_to_float, rms_dbfs, to_mono
from vagus.audio.resample import StreamResampler, resample
from vagus.audio.wav import AudioFileError, read_audio, write_wav

__all__ = [
    "AudioFileError",
    "FrameSplitter",
    "StreamResampler",
    "float_to_int16",
    "int16_to_float",
    "read_audio",
    "resample",
    "rms_dbfs",
    "to_mono",
    "write_wav",
]
