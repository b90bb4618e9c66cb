"""LLM stream → sentences → TTS → playout, overlapped.

The LLM is read by its own task, which hands finished sentences over a queue; this coroutine turns
each sentence into audio as soon as it arrives. So the first sentence is synthesised (and played)
while the model is still writing the rest, and synthesis of sentence N+1 runs while N plays.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from vagus.audio.resample import resample
from vagus.brain.numbers import spoken_numbers
from vagus.brain.sentences import SentenceSplitter
from vagus.brain.speech_text import CJK, speakable, words_in
from vagus.config import SpeechConfig
from vagus.services.deadlines import within
from vagus.services.errors import ProviderError
from vagus.services.tts.base import TTS
from vagus.turns.playout import Playout


@dataclass(slots=True)
class SpeakTimings:
    """perf_counter() stamps of the answer's first milestones."""

    llm_start: float = 0.0
    llm_first_token: float | None = None
    first_sentence: float | None = None
    tts_start: float | None = None
    tts_first_audio: float | None = None
    first_audio_queued: float | None = None
    sentences: list[str] = field(default_factory=list)


_END = object()


async def speak_answer(
    deltas: AsyncIterator[str],
    tts: TTS,
    playout: Playout,
    output_rate: int,
    on_sentence: Callable[[int, str], None] | None = None,
    on_first_token: Callable[[], None] | None = None,
    on_first_audio: Callable[[], None] | None = None,
    timings: SpeakTimings | None = None,
    tts_deadlines: tuple[float, float] | None = None,
    rewrite: Callable[[str], Awaitable[str | None]] | None = None,
    style: SpeechConfig | None = None,
    limit: bool = False,
    speed: float = 1.0,
) -> SpeakTimings:
    """`tts_deadlines`: (first audio, whole sentence) seconds a sentence's synthesis may take;
    `rewrite`: sees each sentence before the voice and may change it (empty: not said); `style`:
    numbers as words, and with `limit` the answer's length budget (over it, the rest of the model's
    answer is dropped at a sentence end and the agent offers to go on)."""
    timings = timings if timings is not None else SpeakTimings()
    if not timings.llm_start:  # an answer with tool rounds speaks in several calls: the first counts
        timings.llm_start = time.perf_counter()
    queue: asyncio.Queue[object] = asyncio.Queue()

    async def read_llm() -> None:
        splitter = SentenceSplitter()
        try:
            async for delta in deltas:
                if timings.llm_first_token is None:
                    timings.llm_first_token = time.perf_counter()
                    if on_first_token is not None:
                        on_first_token()
                for sentence in splitter.push(delta):
                    queue.put_nowait(sentence)
            for sentence in splitter.flush():
                queue.put_nowait(sentence)
            queue.put_nowait(_END)
        except BaseException as exc:  # hand the failure to the consumer, which re-raises it
            if isinstance(exc, ProviderError) and exc.stage is None:
                exc.stage = "llm"
            queue.put_nowait(exc)
            raise

    reader = asyncio.get_running_loop().create_task(read_llm())
    budget = style.max_words if style is not None and limit else None
    offered = False
    try:
        while True:
            item = await queue.get()
            if item is _END:
                break
            if budget is not None and not offered and spoken_words(timings.sentences) >= budget:
                # more is coming and the answer is long enough: stop here and offer the rest
                assert style is not None
                offered = True
                reader.cancel()
                chinese = any(CJK.search(s) for s in timings.sentences)
                item = style.more_prompt_zh if chinese else style.more_prompt
                await asyncio.gather(reader, return_exceptions=True)
            if isinstance(item, BaseException):
                raise item
            sentence = str(item)
            if rewrite is not None:
                sentence = (await rewrite(sentence) or "").strip()
                if not sentence:
                    if offered:
                        break
                    continue
            if timings.first_sentence is None:
                timings.first_sentence = time.perf_counter()
            index = playout.add_sentence(sentence)
            timings.sentences.append(sentence)
            if on_sentence is not None:
                on_sentence(index, sentence)
            text = speakable(sentence)
            if style is None or style.numbers:
                text = spoken_numbers(text)
            if timings.tts_start is None:
                timings.tts_start = time.perf_counter()
            await _synthesise(text, index, tts, playout, output_rate, timings, on_first_audio, tts_deadlines, speed)
            playout.sentence_done(index)
            if offered:  # the offer to go on is the answer's last sentence
                break
    finally:
        if not reader.done():
            reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
    return timings


async def _synthesise(
    text: str,
    index: int,
    tts: TTS,
    playout: Playout,
    output_rate: int,
    timings: SpeakTimings,
    on_first_audio: Callable[[], None] | None,
    deadlines: tuple[float, float] | None = None,
    speed: float = 1.0,
) -> None:
    """One sentence into the playout (`speed`: a pace for voices that take one, 1 = as configured).
    A retryable failure before any of its audio is tried once more; a failure is tagged as the `tts`
    stage's."""
    for attempt in (0, 1):
        produced = False
        blocks = tts.stream(text, speed=speed) if speed != 1.0 and takes_speed(tts) else tts.stream(text)  # type: ignore[call-arg]
        if deadlines is not None:
            blocks = within(blocks, deadlines[0], deadlines[1], lambda which: _late_voice(tts.name, which))
        try:
            async for block in blocks:
                produced = True
                if timings.tts_first_audio is None:
                    timings.tts_first_audio = time.perf_counter()
                playout.enqueue(index, resample(block, tts.sample_rate, output_rate))
                if timings.first_audio_queued is None:
                    timings.first_audio_queued = time.perf_counter()
                    if on_first_audio is not None:
                        on_first_audio()
            return
        except ProviderError as exc:
            exc.stage = "tts"
            if produced or attempt or not exc.retryable or exc.kind == "timeout":
                raise


def takes_speed(tts: object) -> bool:
    """Whether the voice's `stream` takes `speed=` (Piper and OpenAI-compatible voices do)."""
    import inspect

    try:
        return "speed" in inspect.signature(tts.stream).parameters  # type: ignore[attr-defined]
    except (TypeError, ValueError, AttributeError):
        return False


def spoken_words(sentences: list[str]) -> float:
    """Words said so far (a Chinese character counts as half a word)."""
    return sum(words_in(sentence) for sentence in sentences)


def _late_voice(name: str, which: str) -> ProviderError:
    late = "did not start speaking in time" if which == "first" else "took too long over a sentence"
    return ProviderError(name, "timeout", f"the voice {late}")
