"""The ear's front end: echo cancellation → noise suppression → gain control, in the frame path.

A `FrameProcessor`: it takes the session's 16 kHz frames, works in 10 ms blocks (what the engines
need), and hands on a frame of the processed blocks. Each stage is a plain call; each is timed, so
the cost per 10 ms block is always known (`stats`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vagus.audio.pcm import FrameSplitter
from vagus.audio.resample import StreamResampler
from vagus.config import SensesConfig
from vagus.core.events import SensesReport
from vagus.core.frames import AudioFrame
from vagus.senses.apm import BLOCK, RATE
from vagus.senses.denoise import Denoiser, make_denoiser
from vagus.senses.echo import EchoEngine, make_echo_engine
from vagus.senses.gain import ApmGain
from vagus.senses.reference import FarEndReference

REPORT_S = 5.0
"""How often (session time) the front end reports its cost on the event bus."""


@dataclass(slots=True)
class FrontEndStats:
    blocks: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def cost_us_per_block(self) -> dict[str, float]:
        if not self.blocks:
            return {}
        out = {name: total / self.blocks * 1e6 for name, total in self.seconds.items()}
        out["total"] = sum(out.values())
        return {k: round(v, 1) for k, v in out.items()}


class FrontEnd:
    def __init__(self, echo: EchoEngine | None = None, denoiser: Denoiser | None = None, gain: ApmGain | None = None):
        self.echo = echo
        self.denoiser = denoiser
        self.gain = gain
        self.reference = FarEndReference(RATE) if echo is not None else None
        self._splitter = FrameSplitter(BLOCK)
        self._reference_resampler: StreamResampler | None = None
        self._next_report = REPORT_S
        self.stats = FrontEndStats(seconds={s.name: 0.0 for s in (echo, denoiser, gain) if s is not None})

    @property
    def names(self) -> list[str]:
        return [s.name for s in (self.echo, self.denoiser, self.gain) if s is not None]

    def push_reference(self, pcm: np.ndarray, rate: int = RATE) -> None:
        """What the agent sent, at its output `rate` (called from the session's output path); resampled
        here, once, to the canceller's rate."""
        if self.reference is None:
            return
        if rate != RATE:
            if self._reference_resampler is None or self._reference_resampler.from_rate != rate:
                self._reference_resampler = StreamResampler(rate, RATE)
            pcm = self._reference_resampler.process(pcm)
        self.reference.push(pcm)

    def process(self, frame: AudioFrame) -> AudioFrame | None:
        pending = self._splitter.pending
        blocks = self._splitter.push(frame.pcm)
        if not blocks:
            return None
        out = np.empty(len(blocks) * BLOCK, dtype=np.float32)
        seconds = self.stats.seconds
        clock = time.perf_counter
        for i, block in enumerate(blocks):
            if self.echo is not None:
                start = clock()
                block = self.echo.process(block, self.reference.take(BLOCK))  # type: ignore[union-attr]
                seconds[self.echo.name] += clock() - start
            if self.denoiser is not None:
                start = clock()
                block = self.denoiser.process(block)
                seconds[self.denoiser.name] += clock() - start
            if self.gain is not None:
                start = clock()
                block = self.gain.process(block)
                seconds[self.gain.name] += clock() - start
            out[i * BLOCK : (i + 1) * BLOCK] = block
        self.stats.blocks += len(blocks)
        return AudioFrame(out, RATE, frame.t - pending / RATE)

    def report(self, t: float) -> SensesReport | None:
        """Every `REPORT_S` of session time: what each stage costs per block, and the echo delay."""
        if t < self._next_report:
            return None
        self._next_report = t + REPORT_S
        return SensesReport(t, self.names, self.stats.cost_us_per_block(), self.delay_ms())

    def delay_ms(self) -> float | None:
        estimator = getattr(self.echo, "estimator", None)
        return None if estimator is None else estimator.delay_ms


def build_front_end(
    echo: str | None,
    denoise: str | None,
    gain: bool,
    speex_filter_ms: float = 200.0,
    double_talk: bool = True,
    dfn_limit_db: float = 30.0,
    clean_snr_db: float | None = None,
    denoise_model: Path | None = None,
) -> FrontEnd | None:
    """None when every stage is off: the frame path then skips the front end entirely."""
    if echo is None and denoise is None and not gain:
        return None
    return FrontEnd(
        make_echo_engine(echo, speex_filter_ms, double_talk) if echo else None,
        make_denoiser(denoise, dfn_limit_db, clean_snr_db, denoise_model) if denoise else None,
        ApmGain() if gain else None,
    )


def build_front_end_from_config(config: SensesConfig) -> FrontEnd | None:
    """The front end a config's `senses` section describes (None when every stage is off)."""
    echo, denoise = config.echo, config.denoise
    return build_front_end(
        echo.engine if echo.enabled else None,
        denoise.engine if denoise.enabled else None,
        config.gain.enabled,
        echo.speex_filter_ms,
        echo.double_talk,
        denoise.attenuation_limit_db,
        denoise.clean_snr_db,
        denoise.model_path,
    )
