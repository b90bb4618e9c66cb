"""Speech to text."""

from vagus.services.stt.base import STT, Transcript

__all__ = ["STT", "Transcript"]
