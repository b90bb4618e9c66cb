"""OpenTelemetry traces of the turns (the `tracing` extra): a span per answered turn, from the end of
the user's speech to the agent's first audio, with a child span per stage (endpoint — deciding the
user is done —, stt, llm, tts, send), exported over OTLP/HTTP when `server.otlp_endpoint` is set (or
the standard `OTEL_EXPORTER_OTLP_ENDPOINT`). Each traced turn writes a log line with its trace id, so
the JSON logs lead to the trace.

The spans are made from the turn's marks when its first audio goes out (nothing is traced on the
audio path itself); their times are the marks' session-clock times placed on the wall clock.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from vagus.core.events import TurnLatency

log = logging.getLogger("vagus.tracing")

STAGES = (
    ("endpoint", "speech_end", "turn_decided"),
    ("stt", "turn_decided", "stt_done"),
    ("llm", "stt_done", "first_sentence"),
    ("tts", "first_sentence", "tts_first_audio"),
    ("send", "tts_first_audio", "first_audio_sent"),
)


PROVIDER_STAGE = {"stt": "stt", "llm": "llm_first_sentence", "tts": "tts_first_audio"}
"""The time inside the provider's own call, for the stages that have one."""


class TurnTracer:
    def __init__(self, tracer: Any) -> None:
        self.tracer = tracer

    def watch(self, session: Any) -> None:
        session.bus.subscribe(lambda event: self._on_event(session, event))

    def _on_event(self, session: Any, event: object) -> None:
        if isinstance(event, TurnLatency) and "speech_end" in event.marks:
            try:
                self.trace(session.id, session.clock.now(), event)
            except Exception:  # a trace is never worth a turn
                log.exception("tracing turn %d", event.turn)

    def trace(self, session_id: str, clock_now: float, event: TurnLatency) -> str:
        """The turn's spans; returns its trace id (hex)."""
        from opentelemetry import trace

        marks = event.marks
        wall_now = time.time_ns()

        def at(t: float) -> int:
            return wall_now - int((clock_now - t) * 1e9)

        end = marks.get("first_audio_sent", clock_now)
        attributes = {
            "vagus.session": session_id,
            "vagus.turn": event.turn,
            "vagus.response_ms": round(event.response_ms, 1),
            "vagus.overhead_ms": round(event.overhead_ms, 2),
            "vagus.speculative": ",".join(event.speculative),
        }
        span = self.tracer.start_span("vagus.turn", start_time=at(marks["speech_end"]), attributes=attributes)
        context = trace.set_span_in_context(span)
        for name, first, last in STAGES:
            if first in marks and last in marks and marks[last] >= marks[first]:
                stage_ms = event.stages_ms.get(PROVIDER_STAGE.get(name, ""))
                child = self.tracer.start_span(f"vagus.{name}", context=context, start_time=at(marks[first]))
                if stage_ms is not None:
                    child.set_attribute("vagus.provider_ms", round(stage_ms, 1))
                child.end(end_time=at(marks[last]))
        span.end(end_time=at(end))
        trace_id = format(span.get_span_context().trace_id, "032x")
        log.info("turn %d traced", event.turn, extra={"trace_id": trace_id, "session_id": session_id})
        return trace_id


def otlp_tracer(endpoint: str | None, service: str = "vagus") -> tuple[Any, Any] | None:
    """(tracer, provider) exporting to `endpoint` (http://collector:4318), or None when no endpoint is
    configured. ImportError names the extra when tracing is asked for without it."""
    endpoint = endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if not endpoint:
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise ImportError("tracing needs the `tracing` extra: pip install 'vagus[tracing]'") from None
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")))
    return provider.get_tracer("vagus"), provider


def trace_host(host: Any, endpoint: str | None) -> Any:
    """Trace every session of `host` when an OTLP endpoint is configured; the provider (to flush and
    shut down) or None."""
    made = otlp_tracer(endpoint, host.config.name)
    if made is None:
        return None
    tracer, provider = made
    host.open_hooks.append(TurnTracer(tracer).watch)
    return provider
