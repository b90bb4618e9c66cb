"""The speaker lock in a session, on a virtual clock: another voice's turn is skipped and its speech
over the agent only pauses it; the locked voice interrupts as usual; multi-party labels; implicit lock."""

from __future__ import annotations

import numpy as np

from tests.fakes import Step, make_rig, offline_config, silence, tone
from vagus.perception.vault import Voiceprint

USER, OTHER = np.eye(256, dtype=np.float32)[0], np.eye(256, dtype=np.float32)[1]
LONG_ANSWER = " ".join(["This is a long answer that goes on and on."] * 6)


class FakeVoice:
    """A loud tone is the user's voice, a quiet one another person's."""

    name = "fake-voice"

    def __init__(self) -> None:
        self.calls = 0

    async def embed_async(self, audio: np.ndarray) -> np.ndarray:
        self.calls += 1
        return USER if float(np.sqrt(np.mean(np.square(audio)))) > 0.12 else OTHER


class Vault:
    def all(self) -> list[Voiceprint]:
        return [Voiceprint("Anna", USER, "fake", 0.0)]


def locked_rig(turns, answers, judge=(), **speaker):  # type: ignore[no-untyped-def]
    config = offline_config(perception={"speaker": {"lock": "primary", "primary": "Anna", **speaker}})
    rig = make_rig(
        config=offline_config(), turns=list(turns), answers=list(answers), judge=list(judge), voice=FakeVoice(),
        sessions=2,
    )  # fmt: skip
    rig.host.vault = Vault()  # type: ignore[assignment]
    rig.events.clear()
    rig.hosted = rig.host.open(16000, config, clock=rig.clock)  # the host's recorder hears its events
    return rig


async def test_another_voice_is_no_turn_and_the_locked_one_is_answered():
    rig = locked_rig([Step("What time is it?"), Step("Turn the TV up!")], [Step("It is noon.")])
    await rig.play(tone(1.0, 0.3), tail_s=3.0)  # Anna
    await rig.play(tone(1.0, 0.1), tail_s=3.0)  # someone else
    identified = [(e["decision"], e["name"]) for e in rig.of("speaker_identified")]
    assert identified == [("same", "Anna"), ("other", None)]
    assert [e["reason"] for e in rig.of("turn_skipped")] == ["another voice"]
    assert rig.tts.spoken == ["It is noon."]
    assert len(rig.llm.prompts) == 1
    assert "Turn the TV up" not in str(rig.session.conversation.messages())


async def test_another_voice_over_the_agent_pauses_it_then_it_resumes():
    rig = locked_rig([Step("Tell me a story.")], [Step(LONG_ANSWER)], judge=[Step("Turn the TV up!")])
    await rig.play(tone(1.0, 0.3), tail_s=1.0)
    await rig.play(tone(2.0, 0.1), tail_s=2.0)  # a TV talks over the answer
    assert len(rig.of("agent_paused")) == 1
    (resumed,) = rig.of("agent_resumed")
    assert resumed["reason"] == "other_voice"
    assert resumed["paused_ms"] < 1000  # resumed once the voice was known (0.8 s of it), not at its end
    assert not rig.of("interruption")
    assert len(rig.of("turn_ended")) == 1


async def test_the_locked_voice_over_the_agent_still_interrupts():
    rig = locked_rig([Step("Tell me a story."), Step("Stop.")], [Step(LONG_ANSWER)], judge=[Step("Stop, please.")])
    await rig.play(tone(1.0, 0.3), tail_s=1.0)
    onset = rig.clock.now()
    await rig.play(tone(1.2, 0.3), tail_s=1.0)
    (paused,) = rig.of("agent_paused")
    assert paused["t"] - onset < 0.3  # the barge-in budget holds: the pause does not wait for the voice
    (cut,) = rig.of("interruption")
    assert cut["reason"] == "long_speech"


async def test_multi_party_answers_everyone_with_names_in_the_context():
    rig = locked_rig(
        [Step("Hi, I'm Anna."), Step("And I'm Ben.")], [Step("Hello Anna."), Step("Hello Ben.")], multi_party=True
    )
    await rig.play(tone(1.0, 0.3), tail_s=3.0)
    await rig.play(tone(1.0, 0.1), tail_s=3.0)
    assert rig.llm.prompts[1][-1]["content"] == "Someone else: And I'm Ben."
    assert rig.tts.spoken == ["Hello Anna.", "Hello Ben."]


async def test_without_an_enrolled_primary_the_first_voice_heard_becomes_it():
    config = offline_config(perception={"speaker": {"lock": "primary", "implicit_after_s": 2.0}})
    rig = make_rig(
        config=config,
        turns=[Step("One."), Step("Two."), Step("Intruder."), Step("Three.")],
        answers=[Step("A."), Step("B."), Step("C.")],
        voice=FakeVoice(),
    )
    for level in (0.3, 0.3, 0.1, 0.3):
        await rig.play(tone(1.0, level), tail_s=3.0)
    (locked,) = rig.of("speaker_locked")
    assert locked["turn"] == 2
    assert [e["reason"] for e in rig.of("turn_skipped")] == ["another voice"]
    assert rig.tts.spoken == ["A.", "B.", "C."]
    await rig.play(silence(0.1))


class MemoryVault:
    def __init__(self) -> None:
        self.prints: dict[str, Voiceprint] = {}

    def all(self) -> list[Voiceprint]:
        return list(self.prints.values())

    def check_name(self, name: str) -> str:
        from vagus.perception.vault import VoiceprintVault

        return VoiceprintVault.check_name(name)

    def enroll(self, name: str, embedding, model: str, consent: bool) -> Voiceprint:  # type: ignore[no-untyped-def]
        assert consent is True
        self.prints[name] = Voiceprint(name, embedding, model, 0.0)
        return self.prints[name]


async def test_the_person_talking_is_enrolled_from_their_latest_speech_over_the_data_channel():
    import json
    import types

    from vagus.transports.webrtc import WebRTCPeer

    config = offline_config(perception={"speaker": {"lock": "primary", "implicit_after_s": 60}})
    rig = make_rig(config=offline_config(), turns=[Step("Hello."), Step("More words.")], voice=FakeVoice(), sessions=2)
    vault = MemoryVault()
    rig.host.vault = vault  # type: ignore[assignment]
    rig.hosted = rig.host.open(16000, config, clock=rig.clock)
    replies: list[dict] = []
    peer = types.SimpleNamespace(session=rig.session, _reply=replies.append)

    async def ask(message: object) -> dict:
        await WebRTCPeer.handle_message(peer, message)  # type: ignore[arg-type]
        return replies[-1]

    assert (
        "say something first" in (await ask(json.dumps({"type": "enroll", "name": "Anna", "consent": True})))["message"]
    )
    await rig.play(tone(1.5, 0.3), tail_s=3.0)
    too_short = await ask(json.dumps({"type": "enroll", "name": "Anna", "consent": True}))
    assert not too_short["ok"] and "keep talking" in too_short["message"]
    await rig.play(tone(2.0, 0.3), tail_s=3.0)
    no_consent = await ask(json.dumps({"type": "enroll", "name": "Anna", "consent": False}))
    assert not no_consent["ok"] and "consent" in no_consent["message"] and not vault.prints
    done = await ask(json.dumps({"type": "enroll", "name": "Anna", "consent": True}))
    assert done["ok"] and done["name"] == "Anna" and done["seconds"] >= 3.0
    assert "Anna" in vault.prints and rig.session.speaker.primary_name == "Anna"
    assert rig.of("speaker_locked")[-1]["how"] == "enrolled"
    assert (await ask("not json"))["type"] == "error"
    assert (await ask(json.dumps({"type": "enroll", "name": 5, "consent": True})))["ok"] is False
