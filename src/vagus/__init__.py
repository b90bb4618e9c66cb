"""Vagus: the real-time nervous system between people and AI."""

__version__ = "0.1.0"
