"""Text to speech."""

from vagus.services.tts.base import TTS

__all__ = ["TTS"]
