"""Providers behind one small interface per kind (stt, llm, tts), with offline defaults and
OpenAI-compatible HTTP adapters."""
