"""Double talk: is the user speaking while the agent's voice comes back through the loudspeaker?

AEC3 removes the agent's echo far better than a linear filter (30–45 dB against Speex's 15–25 dB),
but its residual-echo suppressor cannot tell a user who talks over a loud agent from more echo: it
attenuates the user too, by 15–56 dB on the first word of a cut-in measured here ("Wait" in "Wait,
stop please"), and the barge-in is then decided on the second word, 600–900 ms late. A linear
canceller (Speex MDF, run beside AEC3 on the same microphone) leaves the user untouched (−2 dB in the
same runs) but lets 15–25 dB less echo through.

So while the agent is audible, this detector compares the linear canceller's output with what it
would be on echo alone: its measured echo return loss enhancement (ERLE), learned on the blocks that
AEC3 judged to be echo only (it removed ≥ 30 dB of them). When the linear output is much louder
than the echo alone leaves (`enter_margin()` over the residue expected from the ERLE), something other
than the echo is in the microphone: the user. During such double talk the front end hands on the
linear output instead of AEC3's (`senses/echo.py`), so the VAD, the user-level check and the
transcription hear the user's words; the rest of the time AEC3's output, with its full cancellation.

Until the linear filter has converged (ERLE ≥ `min_erle_db`; Speex needs about 2–3 s of the agent's
speech), no double talk is declared and AEC3's output is used as before. Nor where the linear filter
is out of tune (it removes almost nothing from a block AEC3 hears as echo alone), and an episode that
AEC3 hears as echo alone for `veto_ms` ends: both were measured letting the filter's residue through.
Whole-session numbers: docs/senses.md, benchmarks/barge_in_sweep.py.
"""

from __future__ import annotations

import math

_TINY = 1e-12
_LEARN_FLOOR = 10.0**-5.5
"""A microphone block quieter than -55 dBFS says nothing about the filter."""


class DoubleTalkDetector:
    """Fed the power of each 10 ms block: microphone, linear-canceller output, AEC3 output and the
    far-end reference; `process` answers whether the block is double talk.

    Double talk begins when the linear output is `enter_margin()` louder than echo alone would leave
    it for `onset_ms`, at `min_level_dbfs` or more (the user's voiced sounds; the echo's residue in
    such blocks was measured at −48 to −34 dBFS), and lasts while it stays `stay_margin_db` louder,
    plus `hold_ms`. Measured (benchmarks/barge_in_sweep.py, 4 echo paths x 28 cut-ins): double talk
    found 0–20 ms after the user's first voiced block once converged (not found in 15 of 112 cut-ins,
    all in the first 2.5 s of an answer), 4 false episodes of 20–40 ms in 60 s of echo alone."""

    __slots__ = (
        "_blocks_on",
        "_disagree",
        "_echo_only_factor",
        "_far_left",
        "_hold_left",
        "_refractory_left",
        "_run",
        "_state",
        "enter_margin_db",
        "erle_db",
        "far_floor",
        "headroom_db",
        "hold_blocks",
        "learn_rate",
        "min_erle_db",
        "min_level",
        "onset_blocks",
        "refractory_blocks",
        "stay_margin_db",
        "tail_blocks",
        "untuned_db",
        "veto_blocks",
    )

    def __init__(
        self,
        enter_margin_db: float = 10.0,
        stay_margin_db: float = 4.0,
        min_erle_db: float = 8.0,
        headroom_db: float = 4.0,
        min_level_dbfs: float = -36.0,
        onset_ms: float = 20.0,
        hold_ms: float = 20.0,
        veto_ms: float = 250.0,
        refractory_ms: float = 500.0,
        tail_ms: float = 600.0,
        block_ms: float = 10.0,
        learn_rate: float = 0.05,
    ) -> None:
        if not 0 < stay_margin_db <= enter_margin_db:
            raise ValueError(f"need 0 < stay_margin_db <= enter_margin_db, got {stay_margin_db}, {enter_margin_db}")
        if not stay_margin_db <= min_erle_db - headroom_db:
            raise ValueError("need stay_margin_db <= min_erle_db - headroom_db")
        self.enter_margin_db = enter_margin_db
        self.headroom_db = headroom_db
        self.stay_margin_db = stay_margin_db
        self.min_erle_db = min_erle_db
        self.min_level = 10.0 ** (min_level_dbfs / 10.0)
        self.onset_blocks = max(1, round(onset_ms / block_ms))
        self.hold_blocks = max(1, round(hold_ms / block_ms))
        self.veto_blocks = max(1, round(veto_ms / block_ms))
        self.refractory_blocks = round(refractory_ms / block_ms)
        self.untuned_db = 3.0
        self.tail_blocks = round(tail_ms / block_ms)
        self.far_floor = 1e-6  # mean-square power of a reference block that counts as the agent talking
        self.learn_rate = learn_rate
        self.erle_db = 0.0
        """The linear canceller's echo return loss enhancement, learned on echo-only blocks."""
        self._echo_only_factor = 10.0**3.0  # AEC3 removed >= 30 dB of a block: echo only
        self._far_left = 0  # blocks left in which the agent's voice may still be in the microphone
        self._state = False
        self._run = 0
        self._hold_left = 0
        self._blocks_on = 0
        self._disagree = 0  # double-talk blocks in a row that AEC3 took for echo only
        self._refractory_left = 0

    @property
    def converged(self) -> bool:
        return self.erle_db >= self.min_erle_db

    def enter_margin(self) -> float:
        """`enter_margin_db`, or less while the filter removes little: with an ERLE of E dB the linear
        output can be at most about E dB over the residue (when the user drowns the echo), so a user
        6 dB under the echo shows only 5–8 dB of excess at E = 11 dB. Never less than
        `stay_margin_db` plus 2 dB."""
        return min(self.enter_margin_db, max(self.stay_margin_db + 2.0, self.erle_db - self.headroom_db))

    @property
    def double_talk_blocks(self) -> int:
        """Blocks declared double talk so far."""
        return self._blocks_on

    def _end_episode(self) -> None:
        self._state = False
        self._run = 0

    def process(self, mic: float, linear: float, aec3: float, far: float) -> bool:
        """Mean-square powers of one block; True: the user talks over the agent's echo."""
        if far > self.far_floor:
            self._far_left = self.tail_blocks
        elif self._far_left > 0:
            self._far_left -= 1
        if self._far_left == 0:
            self._end_episode()
            return False
        sample = 10.0 * math.log10(max(mic, _TINY) / max(linear, _TINY))  # what the linear filter removed
        excess_db = self.erle_db - sample  # how much louder its output is than echo alone would leave it
        echo_only = mic > _LEARN_FLOOR and aec3 * self._echo_only_factor < mic
        if echo_only:
            # AEC3 took this block for echo only: a sample of the linear filter's ERLE. Slowly where
            # the block looks like double talk (AEC3 also removes a user who talks over a loud agent),
            # but not never: a filter that diverged (the echo path changed) must be noticed.
            rate = self.learn_rate if excess_db < self.enter_margin() else self.learn_rate * 0.1
            self.erle_db += rate * (sample - self.erle_db)
        converged = self.converged
        if echo_only and sample < self.untuned_db:
            # the linear filter removes (almost) nothing from a block AEC3 took for echo alone: it is
            # out of tune (misaligned, or the echo path changed), not hearing a user — a user it keeps
            # would have to drown the echo, and AEC3 would then pass them too
            converged = False
        if self._refractory_left > 0:
            self._refractory_left -= 1
        if not self._state:
            if (
                converged
                and linear > self.min_level
                and excess_db >= self.enter_margin()
                and self._refractory_left == 0
            ):
                self._run += 1
                if self._run >= self.onset_blocks:
                    self._state = True
                    self._hold_left = self.hold_blocks
                    self._disagree = 0
            else:
                self._run = 0
        elif (disagree := self._disagree + 1 if echo_only else 0) >= self.veto_blocks:
            # AEC3 has heard nothing but echo for `veto_ms` of this "double talk": a user it removes
            # that completely for that long was not seen (measured: AEC3 passes some of a user over
            # a loud agent within a few blocks), a linear filter gone out of tune was (an 800 ms
            # episode that the VAD took for speech, 6 s into an answer)
            self._end_episode()
            self._refractory_left = self.refractory_blocks
        elif converged and linear > self.min_level * 0.1 and excess_db >= self.stay_margin_db:
            self._disagree = disagree
            self._hold_left = self.hold_blocks
        else:
            self._disagree = disagree
            self._hold_left -= 1
            if self._hold_left <= 0:
                self._end_episode()
        self._blocks_on += self._state
        return self._state
