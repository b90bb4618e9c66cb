import asyncio

import numpy as np
import pytest

from vagus.core import AudioFrame, EventBus, ManualClock, ProcessorChain, Session
from vagus.core.events import TurnEnded, UserSpeechStarted


def test_bus_delivers_in_order_and_survives_broken_subscriber():
    bus = EventBus()
    got = []

    def broken(event):
        raise RuntimeError("boom")

    bus.subscribe(broken)
    unsubscribe = bus.subscribe(got.append)
    bus.publish(1)
    bus.publish(2)
    unsubscribe()
    bus.publish(3)
    assert got == [1, 2]


async def test_event_stream_drops_oldest_when_consumer_lags():
    bus = EventBus()
    stream = bus.stream(maxsize=2)
    for i in range(4):
        bus.publish(i)
    assert stream.dropped == 2
    assert [await stream.__anext__(), await stream.__anext__()] == [2, 3]
    stream.close()


def test_manual_clock_is_monotonic():
    clock = ManualClock()
    clock.advance(0.5)
    clock.set(1.0)
    assert clock.now() == 1.0
    with pytest.raises(ValueError):
        clock.set(0.2)
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_processor_chain_runs_stages_and_stops_on_drop():
    class Gain:
        def process(self, frame):
            frame.pcm = frame.pcm * 2
            return frame

    class Gate:
        def process(self, frame):
            return None if frame.pcm.max() < 1 else frame

    chain = ProcessorChain([Gain(), Gate()])
    assert chain.process(AudioFrame(np.full(4, 0.25, np.float32), 16000, 0.0)) is None
    out = chain.process(AudioFrame(np.full(4, 0.5, np.float32), 16000, 0.0))
    assert out is not None and out.pcm[0] == 1.0 and out.duration == 4 / 16000


def test_events_serialise_with_type_and_rounded_time():
    d = TurnEnded(1.234567, 3, 0.5, 1.2, "silence").to_dict()
    assert d == {
        "t": 1.2346,
        "turn": 3,
        "speech_start": 0.5,
        "speech_end": 1.2,
        "reason": "silence",
        "probability": None,
        "type": "turn_ended",
    }
    assert UserSpeechStarted(0.0, 0.0).type == "user_speech_started"


async def test_session_close_cancels_its_tasks_and_refuses_new_ones():
    session = Session(clock=ManualClock())
    started = asyncio.Event()

    async def forever():
        started.set()
        await asyncio.sleep(3600)

    task = session.spawn(forever(), "forever")
    await started.wait()
    assert session.busy
    await session.close()
    assert task.cancelled() and not session.busy
    coro = forever()
    with pytest.raises(RuntimeError):
        session.spawn(coro, "late")


async def test_the_wall_clock_wakes_at_the_time_asked_not_on_a_polling_step():
    from vagus.core.clock import MonotonicClock, sleep_until

    clock = MonotonicClock()
    due = clock.now() + 0.03
    await sleep_until(clock, due)
    assert clock.now() >= due
