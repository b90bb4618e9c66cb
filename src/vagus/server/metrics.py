"""Prometheus metrics of a session host (the official `prometheus_client`), served at `/metrics`:

- `vagus_sessions` live sessions; `vagus_sessions_opened_total`;
- `vagus_tick_lateness_seconds` how late each 20 ms tick started (histogram);
- `vagus_turn_latency_seconds` end of the user's speech → the agent's first audio (histogram);
- `vagus_stage_seconds{stage}` each stage of an answer: stt, llm_first_token, llm_first_sentence,
  tts_first_audio, tools, held (histogram);
- `vagus_turns_total`, `vagus_interruptions_total`, `vagus_false_interruptions_total` (the agent
  paused for speech that was not a barge-in and went on), `vagus_turns_skipped_total{reason}`;
- `vagus_errors_total{stage,kind}` provider failures.

Each host has its own registry; with worker processes the front gathers each worker's and labels
every sample with `worker`.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families

from vagus.core.events import (
    AgentResumed,
    ErrorEvent,
    Interruption,
    SessionEnded,
    TurnEnded,
    TurnLatency,
    TurnSkipped,
)

LATENCY_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0)
TICK_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5)
STAGES = ("stt", "llm_first_token", "llm_first_sentence", "tts_first_audio", "tools", "held")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class HostMetrics:
    """The metrics of one host; `watch` each session as it opens, `tick` each tick's lateness."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry(auto_describe=True)
        self.sessions = Gauge("vagus_sessions", "live sessions", registry=r)
        self.opened = Counter("vagus_sessions_opened", "sessions opened", registry=r)
        self.tick_lateness = Histogram(
            "vagus_tick_lateness_seconds", "how late each 20 ms tick started", buckets=TICK_BUCKETS, registry=r
        )
        self.turn_latency = Histogram(
            "vagus_turn_latency_seconds",
            "end of the user's speech to the agent's first audio",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.stages = Histogram(
            "vagus_stage_seconds", "time in each stage of an answer", ["stage"], buckets=LATENCY_BUCKETS, registry=r
        )
        self.turns = Counter("vagus_turns", "user turns decided", registry=r)
        self.skipped = Counter("vagus_turns_skipped", "turns not answered", ["reason"], registry=r)
        self.interruptions = Counter("vagus_interruptions", "answers the user cut off", registry=r)
        self.false_interruptions = Counter(
            "vagus_false_interruptions", "pauses for speech over the agent that was not a barge-in", registry=r
        )
        self.errors = Counter("vagus_errors", "provider failures", ["stage", "kind"], registry=r)

    def watch(self, session: Any) -> None:
        self.sessions.inc()
        self.opened.inc()
        session.bus.subscribe(self._on_event)

    def tick(self, lateness_ms: float) -> None:
        self.tick_lateness.observe(max(0.0, lateness_ms) / 1000.0)

    def _on_event(self, event: object) -> None:
        if isinstance(event, TurnLatency):
            marks = event.marks
            if "speech_end" in marks and "first_audio_sent" in marks:
                self.turn_latency.observe(max(0.0, marks["first_audio_sent"] - marks["speech_end"]))
            for stage, ms in event.stages_ms.items():
                if stage in STAGES:
                    self.stages.labels(stage).observe(ms / 1000.0)
        elif isinstance(event, TurnEnded):
            self.turns.inc()
        elif isinstance(event, Interruption):
            self.interruptions.inc()
        elif isinstance(event, AgentResumed):
            self.false_interruptions.inc()
        elif isinstance(event, TurnSkipped):
            self.skipped.labels(_reason(event.reason)).inc()
        elif isinstance(event, ErrorEvent):
            self.errors.labels(event.stage, event.kind).inc()
        elif isinstance(event, SessionEnded):
            self.sessions.dec()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def _reason(text: str) -> str:
    """A skip reason as a label of few values (the free text would make a series per sentence)."""
    for known in ("another voice", "not addressed", "no words", "hook"):
        if known in text:
            return known.replace(" ", "_")
    return "other"


class _Relabelled:
    """Metric families parsed from several workers' expositions, each sample labelled `worker`."""

    def __init__(self, texts: dict[str, str]) -> None:
        self.texts = texts

    def collect(self) -> list[Metric]:
        merged: dict[str, Metric] = {}
        for worker, text in self.texts.items():
            for family in text_string_to_metric_families(text):
                out = merged.get(family.name)
                if out is None:
                    out = merged[family.name] = Metric(family.name, family.documentation, family.type)
                for sample in family.samples:
                    labels = {**sample.labels, "worker": worker}
                    out.add_sample(sample.name, labels, sample.value, sample.timestamp)
        return list(merged.values())


def merge_workers(texts: dict[str, str]) -> bytes:
    """One exposition from each worker's (`{"0": text, "1": text}`), every sample labelled `worker`."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Relabelled(texts))  # type: ignore[arg-type]
    return generate_latest(registry)
