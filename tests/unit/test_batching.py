"""Model calls batched across sessions: the end-of-turn model's worker."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from vagus.services.executor import BatchingWorker


async def test_requests_made_together_run_as_one_batch_in_order():
    worker = BatchingWorker("test", lambda items: [x * 10 for x in items], max_batch=8)
    results = await asyncio.gather(*(worker.submit(i) for i in range(5)))
    assert results == [0, 10, 20, 30, 40]
    assert worker.batch_sizes == [5]
    worker.shutdown()


async def test_batches_are_capped_and_a_failure_reaches_every_caller_of_its_batch():
    def run(items):  # type: ignore[no-untyped-def]
        if -1 in items:
            raise RuntimeError("broken model")
        return items

    worker = BatchingWorker("test", run, max_batch=2)
    assert await asyncio.gather(*(worker.submit(i) for i in range(5))) == [0, 1, 2, 3, 4]
    assert worker.batch_sizes == [2, 2, 1]
    outcome = await asyncio.gather(worker.submit(-1), worker.submit(7), return_exceptions=True)
    assert all(isinstance(o, RuntimeError) for o in outcome)
    assert await worker.submit(3) == 3  # the worker goes on
    with pytest.raises(ValueError):
        BatchingWorker("test", run, max_batch=0)
    worker.shutdown()


@pytest.mark.slow
async def test_smart_turn_batched_equals_one_at_a_time(services):
    from tests.conftest import load_fixture

    model = services.end_of_turn
    audio, _ = load_fixture("two_questions")
    clips = [audio[: 16000 * s] for s in (1, 2, 3)]
    alone = [model.probability(c) for c in clips]
    together = await asyncio.gather(*(model.judge(c) for c in clips))
    assert np.allclose(alone, together, atol=1e-4)
    assert 3 in model.batch_sizes


async def test_model_threads_yield_to_the_audio_loop():
    """Model calls run at a lower scheduling priority than the event loop's thread (Linux, per thread)."""
    import os
    import threading

    from vagus.services.executor import MODEL_NICE, ModelWorker

    worker = ModelWorker("nice-test")
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    theirs = await worker.run(lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
    worker.shutdown()
    assert theirs == min(19, own + MODEL_NICE)
