"""Frame processors: the synchronous stages of the per-frame audio path.

A stage is anything with `process(frame) -> frame | None`. A chain calls its stages one after the other
as plain method calls: no queue and no task per stage (see DESIGN.md, performance principle 1).
Returning None drops the frame (for example a gate that discards non-speech).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from vagus.core.frames import AudioFrame


class FrameProcessor(Protocol):
    def process(self, frame: AudioFrame) -> AudioFrame | None: ...


class ProcessorChain:
    __slots__ = ("stages",)

    def __init__(self, stages: Iterable[FrameProcessor] = ()) -> None:
        self.stages: list[FrameProcessor] = list(stages)

    def process(self, frame: AudioFrame) -> AudioFrame | None:
        for stage in self.stages:
            frame = stage.process(frame)  # type: ignore[assignment]
            if frame is None:
                return None
        return frame
