"""The load-time graph rewrite must compute exactly what the original graph computes."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from vagus.senses.gtcrn import packaged_gtcrn_model
from vagus.senses.onnx_streamline import streamline_onnx


def _session(model: bytes | str) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def _scatter_model(tmp_path, indices: np.ndarray, data_shape: list[int], updates_shape: list[int]):
    node = helper.make_node("ScatterND", ["data", "indices", "updates"], ["out"])
    square = helper.make_node("Pow", ["out", "two"], ["squared"])
    graph = helper.make_graph(
        [node, square],
        "scatter",
        [
            helper.make_tensor_value_info("data", TensorProto.FLOAT, data_shape),
            helper.make_tensor_value_info("updates", TensorProto.FLOAT, updates_shape),
        ],
        [helper.make_tensor_value_info("squared", TensorProto.FLOAT, data_shape)],
        [numpy_helper.from_array(indices.astype(np.int64), "indices"), numpy_helper.from_array(np.float32(2), "two")],
    )
    path = tmp_path / "scatter.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString())
    return path


def _block_indices(shape: list[int], axis: int, start: int, stop: int) -> np.ndarray:
    ranges = [np.arange(start, stop) if a == axis else np.arange(n) for a, n in enumerate(shape)]
    return np.stack(np.meshgrid(*ranges, indexing="ij"), axis=-1)


@pytest.mark.parametrize(("axis", "start", "stop"), [(2, 0, 2), (2, 3, 5), (2, 4, 6), (0, 1, 2)])
def test_block_scatter_becomes_slices_and_concat_with_equal_output(tmp_path, axis, start, stop):
    shape = [2, 3, 6, 4]
    indices = _block_indices(shape[:3], axis, start, stop)  # depth 3: the last axis is written whole
    updates_shape = [*indices.shape[:-1], shape[3]]
    path = _scatter_model(tmp_path, indices, shape, updates_shape)
    rng = np.random.default_rng(0)
    feeds = {"data": rng.standard_normal(shape).astype(np.float32)}
    feeds["updates"] = rng.standard_normal(updates_shape).astype(np.float32)
    rewritten, report = streamline_onnx(path)
    assert (report.scatters_replaced, report.scatters_kept, report.squares_replaced) == (1, 0, 1)
    np.testing.assert_array_equal(_session(rewritten).run(None, feeds)[0], _session(str(path)).run(None, feeds)[0])


def test_scattered_or_reordered_indices_are_left_alone(tmp_path):
    shape = [4, 3]
    for indices in (np.array([[0], [2]]), np.array([[2], [1]])):  # a gap; a block out of order
        path = _scatter_model(tmp_path, indices, shape, [2, 3])
        rewritten, report = streamline_onnx(path)
        assert report.scatters_replaced == 0 and report.scatters_kept == 1
        feeds = {"data": np.arange(12, dtype=np.float32).reshape(shape), "updates": -np.ones((2, 3), np.float32)}
        np.testing.assert_array_equal(_session(rewritten).run(None, feeds)[0], _session(str(path)).run(None, feeds)[0])


def test_streamlined_gtcrn_matches_the_original_frame_by_frame():
    path = packaged_gtcrn_model()
    rewritten, report = streamline_onnx(path)
    assert report.scatters_replaced == 18 and report.scatters_kept == 0
    original, streamlined = _session(str(path)), _session(rewritten)
    rng = np.random.default_rng(1)
    shapes = {i.name: i.shape for i in original.get_inputs()}
    state_a = {name: np.zeros(shape, np.float32) for name, shape in shapes.items()}
    state_b = {name: np.zeros(shape, np.float32) for name, shape in shapes.items()}
    caches = [name for name in shapes if name != "mix"]
    for _ in range(40):  # long enough for every cache slot to be written and read back
        state_a["mix"] = state_b["mix"] = rng.standard_normal(shapes["mix"]).astype(np.float32)
        out_a = original.run(None, state_a)
        out_b = streamlined.run(None, state_b)
        for a, b in zip(out_a, out_b, strict=True):
            np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)  # kernels may differ in rounding only
        state_a.update(zip(caches, out_a[1:], strict=True))
        state_b.update(zip(caches, out_b[1:], strict=True))


def test_a_graph_with_subgraphs_and_unknown_shapes_still_computes_the_same():
    """Silero's VAD has If branches that read outer values and outputs of unknown rank: nothing there
    may be rewritten into something else."""
    from vagus.senses.silero import default_silero_path

    path = default_silero_path()
    rewritten, _ = streamline_onnx(path)
    original, streamlined = _session(str(path)), _session(rewritten)
    rng = np.random.default_rng(2)
    state_a = state_b = np.zeros((2, 1, 128), np.float32)
    for _ in range(5):
        chunk = (rng.standard_normal((1, 512)) * 0.1).astype(np.float32)
        sr = np.array(16000, np.int64)
        prob_a, state_a = original.run(None, {"input": chunk, "state": state_a, "sr": sr})
        prob_b, state_b = streamlined.run(None, {"input": chunk, "state": state_b, "sr": sr})
        np.testing.assert_allclose(prob_b, prob_a, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(state_b, state_a, rtol=1e-5, atol=1e-6)
