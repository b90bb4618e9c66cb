"""The offline brain: an honest, rule-based conversational partner.

No chat-tuned language model ships inside any PyPI wheel or Debian package (docs/models.md), so the
offline default does not pretend to be one. It handles a small set of things well (greetings, who it
is, what it can do, the time and date, arithmetic, repeating, remembering your name, recalling what
you said), and for anything else it says plainly what it heard and that a real language model is one
config line away. Its answers are short and spoken-style, like a model's would be.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from vagus.brain.speech_text import CJK
from vagus.config import AgentConfig, OfflineLlmConfig
from vagus.perception.prosody import TAG
from vagus.services.llm.base import Message

_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
}  # fmt: skip
_NUMBER = r"(-?\d+(?:\.\d+)?|" + "|".join(_NUMBER_WORDS) + r")"
_OPERATORS = {
    "plus": "+", "+": "+", "and": "+", "minus": "-", "-": "-", "less": "-", "times": "*",
    "multiplied by": "*", "x": "*", "*": "*", "×": "*", "divided by": "/", "over": "/", "/": "/",
}  # fmt: skip
_ARITHMETIC = re.compile(
    _NUMBER + r"\s*(" + "|".join(re.escape(op) for op in sorted(_OPERATORS, key=len, reverse=True)) + r")\s*" + _NUMBER
)
_JOKES = (
    "Why did the microphone blush? It heard everything you said.",
    "I told my speaker a joke. It didn't laugh, but the echo did.",
    "Why do voice assistants make bad secret keepers? They always repeat things.",
)


def _number(token: str) -> float:
    return float(_NUMBER_WORDS[token]) if token in _NUMBER_WORDS else float(token)


def _say_number(value: float) -> str:
    if value == int(value):
        return str(int(value))
    return f"{value:.3f}".rstrip("0").rstrip(".")


_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_UNITS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_COMPOUND = re.compile(r"\b(" + "|".join(_TENS) + r")[- ](" + "|".join(_UNITS) + r")\b")
_SQUARE_ROOT = re.compile(r"square root of " + _NUMBER)


def _normalise(text: str) -> str:
    text = text.lower().replace("what's", "what is").replace("who's", "who is").replace("i'm", "i am")
    # "eighty-one" is one number, not eighty minus one
    text = _COMPOUND.sub(lambda m: str(_NUMBER_WORDS[m.group(1)] + _NUMBER_WORDS[m.group(2)]), text)
    return re.sub(r"[^\w\s+\-*/×.']", " ", text).strip()


class OfflineBrain:
    name = "offline-rules"
    summarizes = False
    """Rules cannot write a summary: the session folds old turns extractively instead."""

    def __init__(self, agent_name: str = "Vagus", now: Callable[[], datetime] = datetime.now, seed: int = 0):
        self.agent_name = agent_name
        self._now = now
        self._seed = seed
        self._key = ""
        """What the current reply's choices hang on: the conversation's turn count and words."""

    async def stream(self, messages: list[Message]) -> AsyncIterator[str]:
        answer = self.reply(messages)
        for word in re.findall(r"\S+\s*", answer):
            yield word

    def reply(self, messages: list[Message]) -> str:
        users = [TAG.sub("", m["content"]) for m in messages if m["role"] == "user"]  # no "[sounds: …]"
        if not users or not users[-1].strip():
            return "Sorry, I didn't catch that."
        said = users[-1].strip()
        self._key = f"{len(users)}:{said}"  # set and used within this synchronous call
        if CJK.search(said):
            return self._chinese(said, users)
        text = _normalise(said)
        for handler in (
            self._recall,
            self._remember_name,
            self._arithmetic,
            self._time_and_date,
            self._identity,
            self._repeat,
            self._small_talk,
        ):
            answer = handler(text, said, users)
            if answer:
                return answer
        return self._fallback(said)

    def _recall(self, text: str, said: str, users: list[str]) -> str | None:
        if re.search(r"\bwhat is my name\b|\bdo you (know|remember) my name\b|\bwho am i\b", text):
            for earlier in reversed(users[:-1]):
                name = _name_in(_normalise(earlier))
                if name:
                    return f"Your name is {name}."
            return "You haven't told me your name yet."
        if re.search(r"\bwhat did i (just )?say\b", text):
            if len(users) > 1:
                return f"You said: {users[-2]}"
            return "This is the first thing you've said to me."
        return None

    def _remember_name(self, text: str, said: str, users: list[str]) -> str | None:
        name = _name_in(text)
        if name:
            return f"Nice to meet you, {name}. I'll remember that."
        return None

    def _arithmetic(self, text: str, said: str, users: list[str]) -> str | None:
        root = _SQUARE_ROOT.search(text)
        if root:
            value = _number(root.group(1))
            if value < 0:
                return "A negative number has no real square root."
            return f"The square root of {_say_number(value)} is {_say_number(round(value**0.5, 3))}."
        match = _ARITHMETIC.search(text)
        if not match:
            return None
        left, op, right = _number(match.group(1)), _OPERATORS[match.group(2)], _number(match.group(3))
        if op == "/" and right == 0:
            return "Dividing by zero isn't something even I can do."
        result = {"+": left + right, "-": left - right, "*": left * right, "/": left / right if right else 0}[op]
        word = {"+": "plus", "-": "minus", "*": "times", "/": "divided by"}[op]
        return f"{_say_number(left)} {word} {_say_number(right)} is {_say_number(result)}."

    def _time_and_date(self, text: str, said: str, users: list[str]) -> str | None:
        now = self._now()
        if re.search(r"\bwhat time\b|\bthe time\b|\btime is it\b", text):
            return f"It's {now.strftime('%-I:%M %p')}."
        if re.search(r"\bwhat (day|date)\b|\btoday'?s date\b|\bthe date\b|\bwhat is today\b", text):
            return f"Today is {now.strftime('%A, %B %-d, %Y')}."
        return None

    def _identity(self, text: str, said: str, users: list[str]) -> str | None:
        if re.search(
            r"\bwho are you\b|\bwhat are you\b|\byour name\b|\bare you (a|an) (ai|robot|human|person)\b", text
        ):
            return (
                f"I'm {self.agent_name}, a voice agent running entirely on this computer. "
                "My brain here is a small set of rules, not a language model, so I'm honest about my limits."
            )
        if re.search(r"\bwhat can you do\b|\bhelp\b|\bhow do you work\b", text):
            return (
                "Offline, I can tell you the time and date, do arithmetic, repeat things, and remember your name. "
                "Connect me to a language model server and I can talk about anything."
            )
        return None

    def _repeat(self, text: str, said: str, users: list[str]) -> str | None:
        match = re.match(r"^(?:please )?(?:repeat after me|say)\s+(.+)$", said.strip().rstrip(".!?"), re.IGNORECASE)
        if match:
            return match.group(1).strip() + "."
        return None

    def _small_talk(self, text: str, said: str, users: list[str]) -> str | None:
        if re.search(r"\b(good ?bye|bye|see you)\b", text):
            return "Goodbye! It was nice talking to you."
        if re.search(r"\b(thank you|thanks)\b", text):
            return "You're welcome."
        if re.search(r"\bhow are you\b|\bhow is it going\b", text):
            return "I'm doing well, thanks. Everything I need is running right here on this machine."
        if re.search(r"\bjoke\b", text):
            return self._choose(_JOKES)
        if re.search(r"^(hello|hi|hey|good (morning|afternoon|evening))\b", text):
            return f"Hello! I'm {self.agent_name}. What can I do for you?"
        return None

    def _chinese(self, said: str, users: list[str]) -> str:
        """The same small set of skills in Mandarin (the page and the voice read it in Chinese)."""
        now = self._now()
        if re.search(r"我叫什么|我的名字是什么|你记得我的名字", said):
            for earlier in reversed(users[:-1]):
                found = _ZH_NAME.search(earlier)
                if found:
                    return f"你叫{found.group(1)}。"
            return "你还没有告诉我你的名字。"
        name = _ZH_NAME.search(said)
        if name:
            return f"你好，{name.group(1)}，我记住了。"
        match = _ZH_ARITHMETIC.search(said)
        if match:
            left, right = _zh_number(match.group(1)), _zh_number(match.group(3))
            op = _ZH_OPERATORS[match.group(2)]
            if left is not None and right is not None:
                if op == "/" and right == 0:
                    return "不能除以零。"
                value = {"+": left + right, "-": left - right, "*": left * right, "/": left / right if right else 0}[op]
                return f"{match.group(1)}{match.group(2)}{match.group(3)}等于{_say_number(value)}。"
        if re.search(r"几点|什么时间|现在时间", said):
            return f"现在是{now.hour}点{now.minute:02d}分。"
        if re.search(r"几号|日期|星期几|今天是", said):
            return f"今天是{now.year}年{now.month}月{now.day}日，星期{_ZH_WEEKDAYS[now.weekday()]}。"
        if re.search(r"你是谁|你叫什么", said):
            return f"我是{self.agent_name}，一个完全在这台电脑上运行的语音助手。离线时我只懂几条简单的规则。"
        if re.search(r"谢谢", said):
            return "不客气。"
        if re.search(r"再见|拜拜", said):
            return "再见！很高兴和你聊天。"
        if re.search(r"^(你好|您好|嗨)", said):
            return f"你好！我是{self.agent_name}。有什么可以帮你的？"
        heard = said.rstrip("。！？?!.")
        return f"我听到你说：{heard}。我只是离线的规则大脑，回答不了这个问题。接上语言模型，我就能回答。"

    def _choose(self, options: tuple[str, ...] | list[str]) -> str:
        """A varied but reproducible choice: it depends on this conversation (its turn and words),
        not on how many other sessions this shared brain answered before."""
        return options[zlib.crc32(f"{self._seed}:{self._key}".encode()) % len(options)]

    def _fallback(self, said: str) -> str:
        heard = said.rstrip(".!?")
        return self._choose(
            (
                f"I heard you say: {heard}. I'm only the small offline brain, so I can't really answer that. "
                "Connect me to a language model and I will.",
                f"You said: {heard}. That's beyond my offline rules, I'm afraid. "
                "With a language model connected, I could help.",
            )
        )


_ZH_NUMBER = r"([零〇一二两三四五六七八九十百千万点\d.]+)"
_ZH_OPERATORS = {"乘以": "*", "乘": "*", "加上": "+", "加": "+", "减去": "-", "减": "-", "除以": "/"}
_ZH_OPERATOR = "(" + "|".join(sorted(_ZH_OPERATORS, key=len, reverse=True)) + ")"
_ZH_ARITHMETIC = re.compile(_ZH_NUMBER + _ZH_OPERATOR + _ZH_NUMBER)
_ZH_NAME = re.compile(r"(?:我叫|我的名字是|我的名字叫)([\u4e00-\u9fffA-Za-z]{1,6}?)(?:[。，！,.!?？]|$)")
_ZH_WEEKDAYS = "一二三四五六日"


def _zh_number(text: str) -> float | None:
    from cn2an import cn2an  # type: ignore[import-untyped]

    try:
        return float(cn2an(text.replace("两", "二"), "smart"))
    except (ValueError, KeyError, TypeError):
        return None


def _name_in(text: str) -> str | None:
    match = re.search(r"\b(?:my name is|call me|i am called)\s+([a-z][a-z'\-]+)", text)
    if not match or match.group(1) in {"not", "a", "an", "the"}:
        return None
    return match.group(1).capitalize()


def from_config(section: OfflineLlmConfig, agent: AgentConfig) -> OfflineBrain:
    return OfflineBrain(agent_name=agent.name)
