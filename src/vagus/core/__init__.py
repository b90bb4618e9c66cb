"""The bottom layer: frames, events, clock, event bus, processors and the session shell.

Nothing in here imports any other part of vagus.
"""

from vagus.core.bus import EventBus
from vagus.core.clock import Clock, ManualClock, MonotonicClock
from vagus.core.frames import AudioFrame
from vagus.core.processor import FrameProcessor, ProcessorChain
from vagus.core.session import Session

__all__ = [
    "AudioFrame",
    "Clock",
    "EventBus",
    "FrameProcessor",
    "ManualClock",
    "MonotonicClock",
    "ProcessorChain",
    "Session",
]
