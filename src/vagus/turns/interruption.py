"""Is the sound over the agent a real interruption? Words decide, after the agent has paused.

Speech over the agent pauses it at once (within one frame, `turns.barge_in_min_speech_ms` after the
onset), because a person who starts talking should not be talked over while we find out what they
said. Then:

- speech that goes on for `confirm_speech_ms` is a real interruption;
- shorter speech is transcribed when it stops, and `classify` decides: nothing transcribed (a cough,
  a door, noise), only backchannels or fillers ("mm-hm", "yeah", "okay", 嗯, 对, 好的…), or our own
  words coming back through the loudspeaker mean the agent resumes where it paused; anything else is
  a real interruption, and the user's words become their next turn.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Kind = Literal["nothing", "backchannel", "echo", "speech"]

BACKCHANNEL_PHRASES_EN = (
    "yeah", "yes", "yep", "yup", "ok", "okay", "right", "sure", "alright", "all right", "i see", "got it",
    "uh-huh", "mm-hm", "mm-hmm", "mhm", "oh", "ah", "wow", "cool", "nice", "great", "indeed", "exactly",
    "true", "really", "no way", "uh", "um", "er", "hmm", "huh", "and", "and then", "go on",
)  # fmt: skip
"""Backchannels, fillers and continuers ("and then?", "go on": keep talking)."""
BACKCHANNEL_PHRASES_ZH = (
    "嗯", "嗯嗯", "对", "对对", "对的", "是", "是的", "是啊", "好", "好的", "哦", "噢", "啊", "行", "没错",
    "明白", "懂了", "这样啊", "原来如此", "呃", "额",
)  # fmt: skip
_HUMMING = re.compile(r"^(m+|m+h*m+|h+m+|mh+m+|u+h+|u+m+|u+m+h+m+|a+h+|o+h+|e+r+|e+m+|uh*huh|mmhmm|mhmm)$")
JUDGING_PROMPT = "Mm-hmm. Uh-huh. Yeah. Okay. Hmm."
"""Whisper's initial prompt when transcribing speech over the agent: without it tiny.en writes a hum
as "MMM.", "Emm." or even "in a moment."; with it, "Mm-hmm." (real interruptions such as "Stop." or
"Hold on a second." come out the same, measured on Piper speech)."""
_PUNCTUATION = re.compile(r"[^\w\s']+")


def is_cjk(ch: str) -> bool:
    return "CJK" in unicodedata.name(ch, "")


def has_cjk(text: str) -> bool:
    return any(is_cjk(ch) for ch in text)


def normalise(text: str) -> list[str]:
    """Lower-case word tokens without punctuation; hyphenated sounds join ("mm-hm" → "mmhm");
    CJK characters are kept as one run per word."""
    text = re.sub(r"(?<=\w)-(?=\w)", "", text.lower())
    return _PUNCTUATION.sub(" ", text).split()


class BackchannelMatcher:
    def __init__(self, extra: tuple[str, ...] | list[str] = ()) -> None:
        phrases = [*BACKCHANNEL_PHRASES_EN, *BACKCHANNEL_PHRASES_ZH, *extra]
        self._word_phrases = sorted(
            {tuple(normalise(p)) for p in phrases if p and not has_cjk(p)}, key=len, reverse=True
        )
        self._cjk = sorted({p for p in phrases if p and all(is_cjk(c) for c in p)}, key=len, reverse=True)

    def _cjk_run(self, run: str) -> bool:
        while run:
            for phrase in self._cjk:
                if run.startswith(phrase):
                    run = run[len(phrase) :]
                    break
            else:
                return False
        return True

    def only_backchannels(self, tokens: list[str]) -> bool:
        i = 0
        while i < len(tokens):
            token = tokens[i]
            if all(is_cjk(c) for c in token):
                if not self._cjk_run(token):
                    return False
                i += 1
                continue
            if _HUMMING.match(token):
                i += 1
                continue
            for phrase in self._word_phrases:
                if tuple(tokens[i : i + len(phrase)]) == phrase:
                    i += len(phrase)
                    break
            else:
                return False
        return bool(tokens)

    def classify(self, text: str, agent_text: str = "") -> Kind:
        tokens = normalise(text)
        if not tokens:
            return "nothing"
        if self.only_backchannels(tokens):
            return "backchannel"
        agent_words = set(normalise(agent_text))
        if agent_words and len(tokens) >= 2 and sum(t in agent_words for t in tokens) >= 0.8 * len(tokens):
            return "echo"  # our own answer coming back through the loudspeaker
        return "speech"
