"""Does a transcript sound finished? The words' second opinion on the end of a turn.

smart-turn hears words and prosody, but a fragment read with a falling voice ("Could you tell me")
can sound complete to it; and it sometimes calls a plain complete sentence unfinished. The
transcript settles both cheaply, because the turn's transcript is needed anyway:

- it ends in a trailing ellipsis, a comma or a dash (Whisper writes "So the thing is..." for a voice
  that trails off), or without any final punctuation (optional);
- its last word cannot end an utterance: an article, a preposition, a conjunction, an auxiliary, a
  filler ("um"), a subject pronoun ("I want to", "My name is", "maybe");
- it ends in a phrase that needs a complement ("tell me", "I'd like", "the thing is") or holds the
  floor ("let me think"), or a short one ends on a preposition ("Tell me about");
- Chinese: a trailing filler or conjunction (那个, 然后, 就是, 因为…).

A transcript is *finished* when none of these hold and it ends with . ? ! or their CJK forms.
Deliberately lexical: it runs in microseconds and is easy to extend in the config
(`turns.end_of_turn.unfinished_endings`).
"""

from __future__ import annotations

import re

from vagus.turns.interruption import has_cjk, normalise

DANGLING_WORDS_EN = frozenset(
    (
        "a", "an", "the", "my", "your", "our", "their", "every",
        "to", "of", "than",
        "and", "but", "or", "nor", "because", "if", "whether", "unless", "although",
        "i", "we", "they", "he", "she",
        "um", "uh", "er", "erm",
    )
)  # fmt: skip
"""Words an English utterance practically never ends on. Words that often do ("with", "for", "from",
"can", "do", "so", "then", "though", "where", and "is" in "Do you know where the station is?") are
left out: a wrong "unfinished" costs the user a
long wait after every such turn."""
DANGLING_UNLESS_ALONE_EN = frozenset(("maybe", "just", "very", "also", "even", "quite", "rather", "basically"))
"""Unfinished at the end of a longer utterance ("I was thinking that maybe"), a whole answer alone
("Maybe.")."""
STRANDED_PREPOSITIONS_EN = frozenset(("about", "with", "for", "from", "into", "on", "at", "in", "like", "by"))
"""Unfinished at the end of a short utterance ("Tell me about", "What about"); a longer one often ends
on them ("What are you talking about?")."""
SHORT_UTTERANCE_WORDS = 3
UNFINISHED_PHRASES_EN = (
    "tell me", "show me", "give me", "let me", "help me with", "i want", "i need", "i'd like", "i would like",
    "i was wondering", "wondering if", "the thing is", "what i mean is", "going to", "want to", "have to",
    "need to", "my name is", "the problem is", "the question is",
    "let me think", "let me see", "hold on", "hang on", "one second", "just a second", "give me a second",
)  # fmt: skip
"""Phrases that need a complement, and floor-holding ones ("Let me think.": the user is not done)."""
UNFINISHED_ENDINGS_ZH = (
    "那个", "这个", "然后", "就是", "因为", "所以", "但是", "可是", "还有", "而且", "或者", "如果", "和", "跟",
    "的话", "嗯", "呃", "额", "我想", "我要",
)  # fmt: skip

_TRAILING_OPEN = re.compile(r"(\.\.\.|…|[,，、;；:：\-–—])\s*$")
_ANY_PUNCTUATION = re.compile(r"[.?!,。？！，]")
_FINAL_PUNCTUATION = re.compile(r"[.?!。？！]['\"”’)]*\s*$")


class UnfinishedText:
    def __init__(
        self,
        extra_endings: tuple[str, ...] | list[str] = (),
        require_final_punctuation: bool = True,
        punctuates: bool | None = True,
    ) -> None:
        """`require_final_punctuation`: a transcript without . ? ! at its end counts as unfinished.
        `punctuates`: whether the speech-to-text provider writes punctuation at all (Whisper does;
        most streaming endpoints do not). None: not known, learned from the first transcript that
        carries any; until then the punctuation rule is off, so an STT that never punctuates does
        not hold every turn for `incomplete_silence_ms`."""
        self.require_final_punctuation = require_final_punctuation
        self.punctuates = punctuates
        phrases = [*UNFINISHED_PHRASES_EN, *extra_endings]
        words = [p for p in phrases if p and not has_cjk(p)]
        self._phrases = sorted({tuple(normalise(p)) for p in words if normalise(p)}, key=len, reverse=True)
        self._cjk = tuple(sorted({*UNFINISHED_ENDINGS_ZH, *(p for p in extra_endings if has_cjk(p))}))

    def learn(self, text: str) -> None:
        """A transcript from the provider: one with punctuation shows that it punctuates."""
        if self.punctuates is None and _ANY_PUNCTUATION.search(text):
            self.punctuates = True

    def unfinished(self, text: str) -> bool:
        """True when the words stop where a sentence cannot end. Empty text is not unfinished."""
        stripped = text.strip()
        if not stripped:
            return False
        if _TRAILING_OPEN.search(stripped):
            return True
        if self.require_final_punctuation and self.punctuates and not _FINAL_PUNCTUATION.search(stripped):
            return True
        tokens = normalise(stripped)
        if not tokens:
            return False
        last = tokens[-1]
        if has_cjk(last):
            return last.endswith(self._cjk)
        if last in DANGLING_WORDS_EN or (last in DANGLING_UNLESS_ALONE_EN and len(tokens) > 1):
            return True
        if last in STRANDED_PREPOSITIONS_EN and len(tokens) <= SHORT_UTTERANCE_WORDS:
            return True
        return any(len(tokens) >= len(p) and tuple(tokens[-len(p) :]) == p for p in self._phrases)
