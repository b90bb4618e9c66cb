"""End-of-turn detection: VAD silence, shortened or lengthened by a semantic model's judgement.

The VAD reports when speech began and ended. Without a model, a turn ends once the user has been
silent for `silence_ms`. With one (the `turns.end_of_turn` section), the endpointer asks for a prediction
(`prediction_due`) once a silence has lasted `predict_after_ms`, before the VAD is sure of the stop
(it waits `vad.min_silence_ms`): the session runs the model off the frame path and hands back
P(complete) for that silence (`set_probability`), so the answer is there when the VAD confirms; a
silence that turns out to be a gap between words cost one model run. An early "unfinished" is asked
again on the longer audio once the VAD is sure.

A complete-sounding utterance ends after `complete_silence_ms` of silence (close to the ~200 ms gap
between human turns), an unfinished one ("I want to, um…") only after `incomplete_silence_ms`;
until the model answers the long wait applies. When its answer is "unfinished", the session
transcribes the turn so far (`text_due`); a finished sentence (`turns/unfinished.py`) then ends it
after `text_silence_ms`. Speech that resumes within the wait continues the same turn; a turn needs
at least `min_utterance_ms` of speech. Works on session-clock times only, so it is tested on a
virtual clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from vagus.config import EndOfTurnConfig, TurnConfig


@dataclass(frozen=True, slots=True)
class TurnDecision:
    speech_start: float
    speech_end: float
    decided: float
    reason: str
    probability: float | None = None


class SilenceEndpointer:
    __slots__ = (
        "_answer",
        "_asked_early",
        "_asked_for",
        "_at_least",
        "_segment_start",
        "_speaking",
        "_speech_end",
        "_speech_start",
        "_text_asked_for",
        "_text_finished_for",
        "_voiced",
        "max_utterance_s",
        "min_utterance_s",
        "semantic",
        "silence_s",
    )

    def __init__(self, config: TurnConfig | None = None, semantic: bool = False) -> None:
        """`config`: the config's `turns` section (its defaults are the only ones); `semantic`: an
        end-of-turn model is there to ask (used when `turns.end_of_turn.model` is not none)."""
        config = config or TurnConfig()
        eot = config.end_of_turn
        self.semantic: EndOfTurnConfig | None = eot if semantic and eot.model != "none" else None
        self._asked_for: float | None = None
        self._asked_early = False
        self._answer: tuple[float, float] | None = None
        self._text_asked_for: float | None = None
        self._text_finished_for: float | None = None
        self._at_least = 0.0
        self.silence_s = config.silence_ms / 1000.0
        self.min_utterance_s = config.min_utterance_ms / 1000.0
        self.max_utterance_s = config.max_utterance_s
        self._speaking = False
        self._speech_start: float | None = None
        self._speech_end = 0.0
        self._voiced = 0.0
        self._segment_start = 0.0

    @property
    def in_turn(self) -> bool:
        return self._speech_start is not None

    @property
    def speech_start(self) -> float | None:
        return self._speech_start

    @property
    def silence_start(self) -> float | None:
        """In a turn, after the VAD's stop: when the speech ended (the current silence began)."""
        if self._speech_start is None or self._speaking:
            return None
        return self._speech_end

    @property
    def paused_mid_turn(self) -> float | None:
        """The start of the current silence when the model judged the turn unfinished, else None."""
        p, w = self.probability, self.semantic
        if w is None or p is None or p >= w.threshold:
            return None
        return self._speech_end

    @property
    def probability(self) -> float | None:
        """The model's P(complete) for the current silence, once it has answered."""
        answer = self._answer
        if self._speaking or answer is None or answer[0] != self._speech_end:
            return None
        return answer[1]

    def speech_started(self, at: float) -> None:
        if self._speech_start is None:
            self._speech_start = at
        self._speaking = True
        self._segment_start = at

    def prediction_due(self, now: float, silent_since: float | None = None) -> float | None:
        """The speech end to judge, or None. Asked once per silence, when a model is configured and
        the turn is long enough to count: while the VAD still says speaking, once its tentative
        silence (`silent_since`, the VAD's own start of the quiet run) has lasted `predict_after_ms`;
        after the VAD's stop, at once if that silence was not judged already."""
        w = self.semantic
        if w is None or self._speech_start is None:
            return None
        if self._speaking:
            if silent_since is None or now - silent_since < w.predict_after_ms / 1000.0:
                return None
            end, voiced, early = silent_since, self._voiced + max(0.0, silent_since - self._segment_start), True
        else:
            end, voiced, early = self._speech_end, self._voiced, False
            if end == self._asked_for and self._asked_early:
                # an early "unfinished" is asked again on the longer audio once the VAD is sure: the
                # model is less stable on the shortest silences (measured 0.68 vs 0.96 for the same
                # question at 64 vs 96 ms)
                p = self.probability
                if p is None:
                    return None
                self._asked_early = False
                return end if p < w.threshold else None
        if voiced < self.min_utterance_s or end == self._asked_for:
            return None
        self._asked_for, self._asked_early = end, early
        return end

    def set_probability(self, speech_end: float, probability: float) -> None:
        """The model's answer for the silence that began at `speech_end`: it counts once the VAD
        reports that same stop (an answer for a gap between words is simply never used)."""
        if self._speech_start is not None:
            self._answer = (speech_end, probability)

    def text_due(self) -> float | None:
        """The speech end whose transcript should be checked, once: when the model's settled answer
        for the current silence is "unfinished" (a finished sentence can then end the turn sooner)."""
        end = self.paused_mid_turn
        if end is None or self._asked_early or end == self._text_asked_for:
            return None
        self._text_asked_for = end
        return end

    def set_text_finished(self, speech_end: float) -> None:
        """The transcript up to `speech_end` is a finished sentence."""
        if self._speech_start is not None:
            self._text_finished_for = speech_end

    def _text_finished(self) -> bool:
        return not self._speaking and self._text_finished_for == self._speech_end

    def hold_at_least(self, seconds: float) -> None:
        """This turn ends only after at least `seconds` of silence, whatever the model says."""
        self._at_least = seconds

    def required_silence(self) -> float:
        return max(self._required_silence(), self._at_least)

    def _required_silence(self) -> float:
        w = self.semantic
        if w is None:
            return self.silence_s
        p = self.probability
        if p is not None and p >= w.threshold:
            return w.complete_silence_ms / 1000.0
        if self._text_finished():
            return min(w.text_silence_ms, w.incomplete_silence_ms) / 1000.0
        return w.incomplete_silence_ms / 1000.0

    def speech_stopped(self, at: float) -> None:
        if not self._speaking:
            return
        self._speaking = False
        self._voiced += max(0.0, at - self._segment_start)
        self._speech_end = at

    def check(self, now: float) -> TurnDecision | None:
        """Call once per frame with the current session time."""
        start = self._speech_start
        if start is None:
            return None
        if self._speaking:
            if now - start >= self.max_utterance_s:
                return self._decide(now, now, "max_length")
            return None
        if now - self._speech_end >= self.required_silence():
            if self._voiced < self.min_utterance_s:
                self.reset()
                return None
            p = self.probability
            if p is not None and p >= self.semantic.threshold:  # type: ignore[union-attr]
                reason = "model_complete"
            else:
                reason = "text_complete" if self._text_finished() else "silence"
            return self._decide(self._speech_end, now, reason)
        return None

    def end_now(self, now: float, reason: str = "client_commit") -> TurnDecision | None:
        """End the turn in progress at once (a client committed its audio), or None if there is none."""
        if self._speech_start is None:
            return None
        return self._decide(now if self._speaking else self._speech_end, now, reason)

    def _decide(self, speech_end: float, now: float, reason: str) -> TurnDecision:
        start = self._speech_start if self._speech_start is not None else speech_end
        decision = TurnDecision(start, speech_end, now, reason, self.probability)
        self.reset()
        return decision

    def reset(self) -> None:
        self._speech_start = None
        self._speaking = False
        self._voiced = 0.0
        self._asked_for = None
        self._asked_early = False
        self._answer = None
        self._text_asked_for = None
        self._text_finished_for = None
        self._at_least = 0.0
