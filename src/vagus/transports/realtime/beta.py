"""The retired beta shape of the Realtime protocol, for clients that still send `OpenAI-Beta:
realtime=v1` (the SDK's `client.beta.realtime`, older demos): the same session underneath, its server
events renamed and reshaped on the way out. Client events need no translation: the settings already
read the beta's flat fields (`turn_detection`, `input_audio_format`, `modalities`, `voice` …).
"""

from __future__ import annotations

from typing import Any

RENAMED = {
    "conversation.item.added": "conversation.item.created",
    "response.output_audio.delta": "response.audio.delta",
    "response.output_audio.done": "response.audio.done",
    "response.output_audio_transcript.delta": "response.audio_transcript.delta",
    "response.output_audio_transcript.done": "response.audio_transcript.done",
    "response.output_text.delta": "response.text.delta",
    "response.output_text.done": "response.text.done",
}
DROPPED = {"conversation.item.done", "input_audio_buffer.timeout_triggered"}
"""GA events the beta did not have (its items were complete when created)."""
FORMAT_NAMES = {"audio/pcm": "pcm16", "audio/pcmu": "g711_ulaw", "audio/pcma": "g711_alaw"}
CONTENT_TYPES = {"output_audio": "audio", "output_text": "text"}


def to_beta(event: dict[str, Any]) -> dict[str, Any] | None:
    """A GA server event in the beta's shape, or None when the beta had no such event."""
    kind = event["type"]
    if kind in DROPPED:
        return None
    out = dict(event, type=RENAMED.get(kind, kind))
    if "session" in out:
        out["session"] = _session(out["session"])
    if "item" in out:
        out["item"] = _item(out["item"])
    if "part" in out:
        out["part"] = {**out["part"], "type": out["part"].get("type")}
    if "response" in out:
        response = dict(out["response"])
        response["modalities"] = response.pop("output_modalities", ["audio"])
        response["output"] = [_item(i) for i in response.get("output") or []]
        response.pop("audio", None)
        out["response"] = response
    return out


def _item(item: dict[str, Any]) -> dict[str, Any]:
    if "content" not in item:
        return item
    content = [{**part, "type": CONTENT_TYPES.get(part.get("type"), part.get("type"))} for part in item["content"]]
    return {**item, "content": content}


def _session(session: dict[str, Any]) -> dict[str, Any]:
    audio = session.get("audio", {})
    audio_in, audio_out = audio.get("input", {}), audio.get("output", {})
    modalities = ["audio", "text"] if "audio" in session.get("output_modalities", ["audio"]) else ["text"]
    limit = session.get("max_output_tokens", "inf")
    # no `model`: the beta's types allow only OpenAI's model names there, and the session is Vagus's
    return {
        "id": session.get("id"),
        "object": "realtime.session",
        "modalities": modalities,
        "instructions": session.get("instructions", ""),
        "voice": audio_out.get("voice", "vagus"),
        "input_audio_format": FORMAT_NAMES.get(audio_in.get("format", {}).get("type", "audio/pcm"), "pcm16"),
        "output_audio_format": FORMAT_NAMES.get(audio_out.get("format", {}).get("type", "audio/pcm"), "pcm16"),
        "input_audio_transcription": audio_in.get("transcription"),
        "turn_detection": audio_in.get("turn_detection"),
        "tools": session.get("tools", []),
        "tool_choice": session.get("tool_choice", "auto"),
        "temperature": 0.8,
        "max_response_output_tokens": limit,
    }
