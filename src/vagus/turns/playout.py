"""The agent's outgoing audio: a queue the transport pulls from once per frame, and a record of how
much of each sentence was actually played.

`pull` runs on the per-frame path and costs a slice copy. `interrupt` empties the queue, so the very
next pulled frame is silence (barge-in within one frame), and returns the words the user heard:
whole sentences that finished playing, plus the played fraction of the sentence that was cut.

A *cue* is a short sound outside any answer (the agent's "mm-hm", a "let me think"): it plays ahead
of the answer's audio, is not part of what was said (no sentence, no started/finished callbacks),
and `drop_cue` silences it on the next frame when the user starts talking.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(slots=True)
class _Sentence:
    text: str
    queued: int = 0
    played: int = 0
    complete: bool = False
    """All of this sentence's audio has been queued."""


@dataclass(slots=True)
class _Block:
    pcm: np.ndarray
    sentence: _Sentence
    offset: int = 0


class Playout:
    def __init__(
        self,
        sample_rate: int,
        on_started: Callable[[int], None] | None = None,
        on_finished: Callable[[int, bool], None] | None = None,
    ) -> None:
        self.sample_rate = sample_rate
        self._blocks: deque[_Block] = deque()
        self._sentences: list[_Sentence] = []
        self._turn: int | None = None
        self._open = False
        self._started = False
        self._paused = False
        self._cue: np.ndarray | None = None
        self._cue_pos = 0
        self._zeros = np.zeros(0, dtype=np.float32)
        self.on_started = on_started
        self.on_finished = on_finished

    @property
    def turn(self) -> int | None:
        return self._turn

    @property
    def speaking(self) -> bool:
        """True from the first audio sent until the answer has been played out or cut."""
        return self._started

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        """Hold the answer where it is: the next pulled frame is silence, nothing is lost."""
        self._paused = True

    def resume(self) -> None:
        self._paused = False
        if not self._blocks and not self._open:
            self._finish(interrupted=False)

    @property
    def cueing(self) -> bool:
        return self._cue is not None

    def cue(self, pcm: np.ndarray) -> None:
        """Play `pcm` (at `sample_rate`) ahead of anything queued; replaces a cue still playing."""
        self._cue = np.asarray(pcm, dtype=np.float32) if len(pcm) else None
        self._cue_pos = 0

    def drop_cue(self) -> None:
        self._cue = None

    def _pull_cue(self, n: int) -> np.ndarray:
        cue = self._cue
        assert cue is not None
        out = np.zeros(n, dtype=np.float32)
        take = min(n, len(cue) - self._cue_pos)
        out[:take] = cue[self._cue_pos : self._cue_pos + take]
        self._cue_pos += take
        if self._cue_pos >= len(cue):
            self._cue = None
        return out

    @property
    def active(self) -> bool:
        """An answer is open or still has audio to play."""
        return self._open or bool(self._blocks)

    @property
    def queued_seconds(self) -> float:
        return sum(len(b.pcm) - b.offset for b in self._blocks) / self.sample_rate

    def begin(self, turn: int) -> None:
        self._blocks.clear()
        self._sentences = []
        self._turn = turn
        self._open = True
        self._started = False
        self._paused = False

    def add_sentence(self, text: str) -> int:
        self._sentences.append(_Sentence(text))
        return len(self._sentences) - 1

    def enqueue(self, sentence: int, pcm: np.ndarray) -> None:
        if not self._open or pcm.size == 0:
            return
        record = self._sentences[sentence]
        record.queued += len(pcm)
        self._blocks.append(_Block(np.asarray(pcm, dtype=np.float32), record))

    def sentence_done(self, sentence: int) -> None:
        if self._open:
            self._sentences[sentence].complete = True

    def close(self) -> None:
        """No more audio will come for this answer."""
        self._open = False
        if not self._blocks and not self._paused:
            self._finish(interrupted=False)

    def pull(self, n: int) -> np.ndarray:
        """The next `n` samples to send; silence where there is nothing to play."""
        if self._cue is not None and not self._paused:
            return self._pull_cue(n)
        if not self._blocks or self._paused:
            if len(self._zeros) != n:
                self._zeros = np.zeros(n, dtype=np.float32)
            return self._zeros
        out = np.zeros(n, dtype=np.float32)
        filled = 0
        if not self._started:
            self._started = True
            if self.on_started is not None and self._turn is not None:
                self.on_started(self._turn)
        while filled < n and self._blocks:
            block = self._blocks[0]
            take = min(n - filled, len(block.pcm) - block.offset)
            out[filled : filled + take] = block.pcm[block.offset : block.offset + take]
            block.offset += take
            block.sentence.played += take
            filled += take
            if block.offset >= len(block.pcm):
                self._blocks.popleft()
        if not self._blocks and not self._open:
            self._finish(interrupted=False)
        return out

    def heard_text(self) -> str:
        words: list[str] = []
        for sentence in self._sentences:
            if sentence.played == 0:
                break
            if sentence.complete and sentence.played >= sentence.queued:
                words.extend(sentence.text.split())
                continue
            parts = sentence.text.split()
            fraction = sentence.played / max(sentence.queued, 1)
            words.extend(parts[: int(len(parts) * fraction)])
            break
        return " ".join(words)

    def heard_text_at(self, samples: int) -> str:
        """What the user heard of this answer had it stopped after its first `samples` samples (a
        client that plays later than we send says where it stopped)."""
        words: list[str] = []
        left = samples
        for sentence in self._sentences:
            if left <= 0 or sentence.queued == 0:
                break
            parts = sentence.text.split()
            if left >= sentence.queued and sentence.complete:
                words.extend(parts)
                left -= sentence.queued
                continue
            words.extend(parts[: int(len(parts) * min(left / sentence.queued, 1.0))])
            break
        return " ".join(words)

    def interrupt(self) -> str:
        """Stop now; returns what the user heard of this answer."""
        heard = self.heard_text()
        self._blocks.clear()
        self._cue = None
        self._open = False
        self._paused = False
        self._finish(interrupted=True)
        return heard

    def _finish(self, interrupted: bool) -> None:
        turn, started = self._turn, self._started
        self._started = False
        if turn is not None and started and self.on_finished is not None:
            self.on_finished(turn, interrupted)
        self._turn = None
