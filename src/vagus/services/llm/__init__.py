"""Language models: the brain's text engine."""

from vagus.services.llm.base import LLM, Message

__all__ = ["LLM", "Message"]
