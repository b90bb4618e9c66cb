"""The speech-to-text pool (`vagus pool`, Ray Serve) against one request at a time: N utterances (the
test fixtures, in turn) sent one after another, then all at once, to a pool on this machine, and the
same utterances through the node's own Whisper in-process. Prints the time for all N, the per-request
latency (p50/max) and the pool's batch sizes.

Runs itself in a loopback-only namespace (`unshare -n`, root); on a machine with a GPU the pool uses it.

    sudo .venv/bin/python benchmarks/pool.py [--requests 16] [--max-batch 16] [--device auto]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "e2e"))  # its helpers' own imports

from _netns import free_port, inside, reexec_in_namespace

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ["hello.wav", "two_questions.wav", "long_question.wav", "barge_in.wav"]


async def main(args: argparse.Namespace) -> None:
    import aiohttp

    from tests.e2e.pool_session import transcribe
    from vagus.audio.wav import read_audio
    from vagus.services.stt.whisper_local import WhisperSTT

    files = [(ROOT / "tests" / "fixtures" / FIXTURES[i % len(FIXTURES)]) for i in range(args.requests)]
    datas = [f.read_bytes() for f in files]
    local = WhisperSTT()
    audios = [read_audio(f)[0] for f in files]
    local._run(audios[0])
    started = time.perf_counter()
    for audio in audios:
        local._run(audio)
    in_process = time.perf_counter() - started

    port = free_port()
    argv = [sys.executable, "-m", "vagus", "--log-level", "warning", "pool", "--port", str(port), "--max-batch",
            str(args.max_batch), "--batch-wait-ms", str(args.batch_wait_ms), "--device", args.device]  # fmt: skip
    pool = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    try:
        assert pool.stdout is not None
        print(pool.stdout.readline().strip())
        url = f"http://127.0.0.1:{port}/v1"
        async with aiohttp.ClientSession() as http:
            await transcribe(http, url, datas[0])  # warm the path

            async def timed(data: bytes) -> float:
                t = time.perf_counter()
                code, body = await transcribe(http, url, data)
                if code != 200:
                    raise RuntimeError(body)
                return (time.perf_counter() - t) * 1000

            started = time.perf_counter()
            one_by_one = [await timed(d) for d in datas]
            sequential = time.perf_counter() - started
            started = time.perf_counter()
            together = await asyncio.gather(*(timed(d) for d in datas))
            concurrent = time.perf_counter() - started
            async with http.get(f"{url}/pool/stats") as response:
                stats = await response.json()
    finally:
        pool.terminate()
        pool.wait(120)
    n = args.requests
    print(f"{n} utterances (the fixtures in turn), Whisper tiny.en, device {stats['device']} ({stats['compute_type']})")
    print(f"  in-process, one at a time:      {in_process:6.2f} s")
    print(f"  pool, one at a time:            {sequential:6.2f} s  (p50 {statistics.median(one_by_one):.0f} ms each)")
    print(f"  pool, all at once:              {concurrent:6.2f} s  (p50 {statistics.median(together):.0f} ms, "
          f"max {max(together):.0f} ms each)")  # fmt: skip
    print(f"  batch sizes (last): {stats['batch_sizes'][-8:]}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--max-batch", type=int, default=16)
    parser.add_argument("--batch-wait-ms", type=float, default=10.0)
    parser.add_argument("--device", default="auto")
    arguments = parser.parse_args()
    if not inside():
        reexec_in_namespace()
    asyncio.run(main(arguments))
