"""The composition root: shared providers and the voice session that wires senses, turns and brain."""

from vagus.agent.services import Services, build_services
from vagus.agent.session import VoiceSession

__all__ = ["Services", "VoiceSession", "build_services"]
