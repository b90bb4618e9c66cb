"""A minimal device client for the Realtime WebSocket: what an ESP32-class board or a robot that
cannot run WebRTC does, written in plain Python (aiohttp) so it reads like the firmware loop.

The device streams its microphone as 20 ms chunks of PCM16 (24 kHz, or G.711 µ-law at 8 kHz for
boards with a telephone codec), plays whatever `response.output_audio.delta` brings, and stops
playing at once when the server says the user started speaking (`input_audio_buffer.speech_started`)
or that the answer was cut off (`conversation.item.truncated`). The server decides when the user is
done and truncates the agent's words to what was sent, so the device needs no VAD of its own.

Here the microphone is a recording and the speaker a WAV file, aligned in time with the input:

    vagus serve &
    python examples/device_client.py ws://127.0.0.1:8080/v1/realtime question.wav answer.wav
    python examples/device_client.py … --format pcmu --key $VAGUS_API_KEY
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import time

import aiohttp
import numpy as np
import soundfile as sf
import soxr

CHUNK_S = 0.02
ULAW_BIAS = 0x84


def ulaw_encode(pcm: np.ndarray) -> bytes:
    """16-bit PCM → G.711 µ-law (what a board's codec chip would do)."""
    x = pcm.astype(np.int32) >> 2
    mask = np.where(x < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(x), 8159) + 33
    segment = np.searchsorted([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF], magnitude)
    code = np.where(segment >= 8, 0x7F, (segment << 4) | ((magnitude >> (segment + 1)) & 0x0F))
    return ((code ^ mask) & 0xFF).astype(np.uint8).tobytes()


def ulaw_decode(data: bytes) -> np.ndarray:
    codes = ~np.frombuffer(data, np.uint8).astype(np.int32) & 0xFF
    magnitude = ((((codes & 0x0F) << 3) + ULAW_BIAS) << ((codes >> 4) & 0x07)) - ULAW_BIAS
    return np.where(codes & 0x80, -magnitude, magnitude).astype(np.int16)


async def run(url: str, mic: str, speaker: str, fmt: str, key: str | None, tail_s: float) -> dict[str, object]:
    rate = 24000 if fmt == "pcm" else 8000
    audio, source_rate = sf.read(mic, dtype="float32", always_2d=True)
    pcm = soxr.resample(audio.mean(axis=1), source_rate, rate)
    pcm = np.concatenate([pcm, np.zeros(int(tail_s * rate), np.float32)])
    samples = (np.clip(pcm, -1, 1) * 32767).astype(np.int16)
    played = np.zeros(len(samples) + rate * 30, np.int16)  # the loudspeaker, on the microphone's timeline
    chunk = int(CHUNK_S * rate)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    deltas = stopped_playing = cut_off = 0
    transcripts: list[str] = []
    heard: list[str] = []
    start = time.monotonic()
    cursor = 0.0  # where the next audio from the server plays (seconds on the timeline)

    async with aiohttp.ClientSession() as http, http.ws_connect(url, headers=headers, max_msg_size=0) as ws:
        audio_settings: dict[str, dict[str, object]] = {"input": {"transcription": {"model": "default"}}, "output": {}}
        if fmt == "pcmu":
            audio_settings["input"]["format"] = audio_settings["output"]["format"] = {"type": "audio/pcmu"}
        await ws.send_json({"type": "session.update", "session": {"type": "realtime", "audio": audio_settings}})

        async def microphone() -> None:
            for i in range(0, len(samples), chunk):
                block = samples[i : i + chunk]
                data = block.astype("<i2").tobytes() if fmt == "pcm" else ulaw_encode(block)
                await ws.send_json({"type": "input_audio_buffer.append", "audio": base64.b64encode(data).decode()})
                await asyncio.sleep(max(0.0, start + (i + chunk) / rate - time.monotonic()))

        mic_task = asyncio.create_task(microphone())
        try:
            async for message in ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                event = json.loads(message.data)
                kind = event["type"]
                now = time.monotonic() - start
                if kind == "response.output_audio.delta":
                    raw = base64.b64decode(event["delta"])
                    block = np.frombuffer(raw, "<i2") if fmt == "pcm" else ulaw_decode(raw)
                    cursor = max(cursor, now)
                    at = int(cursor * rate)
                    played[at : at + len(block)] = block[: max(0, len(played) - at)]
                    cursor += len(block) / rate
                    deltas += 1
                elif kind in ("input_audio_buffer.speech_started", "conversation.item.truncated"):
                    cut_off += kind == "conversation.item.truncated"  # the server cut the answer short
                    if cursor > now:  # stop the loudspeaker now: what was queued is not played
                        played[int(now * rate) : int(cursor * rate)] = 0
                        cursor = now
                        stopped_playing += 1
                elif kind == "response.output_audio_transcript.done":
                    transcripts.append(event["transcript"])
                elif kind == "conversation.item.input_audio_transcription.completed":
                    heard.append(event["transcript"])
                elif kind == "error":
                    print(f"server: {event['error']['message']}", file=sys.stderr)
                if mic_task.done() and kind == "response.done" and now > len(samples) / rate:
                    break
        finally:
            mic_task.cancel()
    end = max(len(samples), int(cursor * rate))
    sf.write(speaker, played[:end], rate, subtype="PCM_16")
    return {"deltas": deltas, "stopped_playing": stopped_playing, "cut_off": cut_off, "transcripts": transcripts,
            "heard": heard}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="ws://HOST:PORT/v1/realtime (wss:// with TLS)")
    parser.add_argument("mic", help="the microphone: a recording (any rate)")
    parser.add_argument("speaker", help="the loudspeaker: a WAV file written aligned with the microphone")
    parser.add_argument("--format", choices=["pcm", "pcmu"], default="pcm", help="pcm: 24 kHz PCM16; pcmu: G.711")
    parser.add_argument("--key", help="API key, session token or client secret")
    parser.add_argument("--tail", type=float, default=6.0, help="seconds of silence after the recording")
    args = parser.parse_args()
    stats = asyncio.run(run(args.url, args.mic, args.speaker, args.format, args.key, args.tail))
    print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
