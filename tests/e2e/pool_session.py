"""`vagus pool` (Ray Serve, on the CPU here) inside a loopback-only namespace: eight transcriptions
sent at once are decoded in batches and read as the node's own Whisper reads them; bad uploads get a
clear 400; a whole conversation (`vagus talk`) uses the pool as its speech to text through the
ordinary OpenAI-compatible provider; SIGTERM stops it. Prints `REPORT {json}`."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import aiohttp
from processes import FIXTURES, ROOT, VAGUS, free_port, reap


async def transcribe(http: aiohttp.ClientSession, url: str, data: bytes, name: str = "a.wav") -> tuple[int, dict]:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name, content_type="audio/wav")
    form.add_field("model", "whisper")
    form.add_field("language", "en")
    async with http.post(f"{url}/audio/transcriptions", data=form) as response:
        return response.status, await response.json()


async def main() -> dict:
    port = free_port()
    pool = subprocess.Popen([*VAGUS, "pool", "--port", str(port), "--max-batch", "8", "--batch-wait-ms", "1000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    report: dict = {}
    try:
        assert pool.stdout is not None
        report["banner"] = pool.stdout.readline().strip()  # printed once the pool is ready
        if not report["banner"].startswith("Vagus pool"):
            pool.wait(60)
            raise RuntimeError("the pool did not start: " + (pool.stderr.read() if pool.stderr else "")[-3000:])
        files = ["hello.wav", "two_questions.wav", "long_question.wav", "barge_in.wav"] * 2
        async with aiohttp.ClientSession() as http:
            results = await asyncio.gather(*(transcribe(http, url, (FIXTURES / f).read_bytes()) for f in files))
            report["texts"] = {f: body.get("text") for f, (_, body) in zip(files, results, strict=True)}
            report["codes"] = sorted({code for code, _ in results})
            async with http.get(f"{url}/pool/stats") as response:
                report["stats"] = await response.json()
            report["not_audio"] = await transcribe(http, url, b"this is not audio", "x.txt")
            async with http.post(f"{url}/audio/transcriptions", data=b"{}") as response:
                report["no_form"] = (response.status, await response.json())
        from vagus.audio.wav import read_audio
        from vagus.services.stt.whisper_local import WhisperSTT

        local = WhisperSTT()
        report["local_texts"] = {f: local._run(read_audio(FIXTURES / f)[0]).text for f in set(files)}
        # a whole conversation whose speech to text is the pool
        work = Path(tempfile.mkdtemp())
        config = work / "agent.yaml"
        # generous deadlines: on a busy machine the pool (beside the node's own models) is slow, not wrong
        config.write_text(f"stt: {{provider: openai, base_url: '{url}', model: whisper}}\n"
                          "deadlines: {stt_s: 120}\n")  # fmt: skip
        talk = subprocess.run([*VAGUS, "talk", str(FIXTURES / "two_questions.wav"), str(work / "out.wav"),
                               "--config", str(config), "--transcript", str(work / "t.json")],
                              capture_output=True, text=True, cwd=ROOT, timeout=300)  # fmt: skip
        report["talk_code"] = talk.returncode
        report["talk_stderr"] = talk.stderr[-1500:]
        if talk.returncode == 0:
            report["talk_turns"] = [t.get("user_text") for t in json.loads((work / "t.json").read_text())["turns"]]
        async with aiohttp.ClientSession() as http, http.get(f"{url}/pool/stats") as response:
            report["requests_after_talk"] = (await response.json())["requests"]
        started = time.monotonic()
        pool.send_signal(signal.SIGTERM)
        report["exit_code"] = pool.wait(timeout=120)
        report["stop_s"] = round(time.monotonic() - started, 1)
    finally:
        reap(pool, report)
    return report


if __name__ == "__main__":
    print("REPORT " + json.dumps(asyncio.run(main())), flush=True)
