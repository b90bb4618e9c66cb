"""Rewrite a streaming ONNX graph's costly cache updates into cheap equivalents, at load time.

Why: models exported from PyTorch with in-place cache writes (`cache[:, :, a:b] = x`) carry them as
`ScatterND` with a constant index per element. onnxruntime copies the whole tensor and walks the
index list element by element on every call; for GTCRN's 18 such nodes that was a fifth of its
time per frame. When the indices of one node cover a contiguous range along a single axis (and all
of every other axis), the node equals a Concat of the untouched slices around the update, which
onnxruntime runs as a few memcpys. `Pow(x, 2)` (a libm `powf` per element) becomes `Mul(x, x)`.

The result computes exactly the same numbers (tests compare outputs bit for bit); nodes that do not
match a pattern are left alone, so any graph loads, rewritten or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(slots=True)
class StreamlineReport:
    scatters_replaced: int = 0
    scatters_kept: int = 0
    squares_replaced: int = 0


def streamline_onnx(path: Path) -> tuple[bytes, StreamlineReport]:
    """The model at `path`, serialized with its block-shaped ScatterND and Pow(x, 2) nodes rewritten."""
    import onnx
    from onnx import helper, numpy_helper, shape_inference

    model = shape_inference.infer_shapes(onnx.load(str(path)))
    graph = model.graph
    shapes: dict[str, list[int]] = {}
    for value in [*graph.value_info, *graph.input, *graph.output]:
        dims = value.type.tensor_type.shape.dim
        if dims and all(d.HasField("dim_value") for d in dims):
            shapes[value.name] = [d.dim_value for d in dims]
    constants = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)

    report = StreamlineReport()
    added: list = []
    nodes: list = []

    def int64(values: list[int]) -> str:
        name = f"vagus_streamline_const_{len(added)}"
        added.append(numpy_helper.from_array(np.asarray(values, dtype=np.int64), name))
        return name

    for node in graph.node:
        if node.op_type == "ScatterND" and len(node.input) == 3 and not node.attribute:
            block = _block_update(constants.get(node.input[1]), shapes.get(node.input[0]))
            if block is None:
                report.scatters_kept += 1
            else:
                data, updates = node.input[0], node.input[2]
                axis, start, stop, update_shape = block
                shape = shapes[data]
                reshaped = f"{node.output[0]}__vagus_update"
                parts = []
                nodes.append(helper.make_node("Reshape", [updates, int64(update_shape)], [reshaped]))
                if start > 0:
                    before = f"{node.output[0]}__vagus_before"
                    nodes.append(helper.make_node("Slice", [data, int64([0]), int64([start]), int64([axis])], [before]))
                    parts.append(before)
                parts.append(reshaped)
                if stop < shape[axis]:
                    after = f"{node.output[0]}__vagus_after"
                    ends = [shape[axis]]
                    nodes.append(helper.make_node("Slice", [data, int64([stop]), int64(ends), int64([axis])], [after]))
                    parts.append(after)
                nodes.append(helper.make_node("Concat", parts, [node.output[0]], axis=axis))
                report.scatters_replaced += 1
                continue
        if node.op_type == "Pow" and len(node.input) == 2:
            exponent = constants.get(node.input[1])
            if exponent is not None and exponent.size == 1 and float(exponent.reshape(-1)[0]) == 2.0:
                nodes.append(helper.make_node("Mul", [node.input[0], node.input[0]], list(node.output)))
                report.squares_replaced += 1
                continue
        nodes.append(node)

    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(added)
    return model.SerializeToString(), report


def _block_update(indices: np.ndarray | None, shape: list[int] | None) -> tuple[int, int, int, list[int]] | None:
    """(axis, start, stop, block shape) when `indices` write exactly data[..., start:stop, ...] in order."""
    if indices is None or shape is None or indices.ndim < 2 or indices.dtype.kind not in "iu":
        return None
    depth = indices.shape[-1]
    if depth > len(shape):
        return None
    flat = indices.reshape(-1, depth).astype(np.int64)
    if flat.size == 0 or (flat < 0).any():
        return None
    low, high = flat.min(axis=0), flat.max(axis=0) + 1
    partial = [a for a in range(depth) if low[a] != 0 or high[a] != shape[a]]
    if len(partial) > 1:
        return None
    axis = partial[0] if partial else 0
    block = list(shape)
    block[axis] = int(high[axis] - low[axis])
    # The indices must enumerate the block exactly once, in row-major order (then the updates tensor,
    # whatever its own shape, holds the block's elements in that same order).
    grid = np.stack(np.meshgrid(*[np.arange(low[a], high[a]) for a in range(depth)], indexing="ij"), axis=-1)
    if grid.reshape(-1, depth).shape != flat.shape or not np.array_equal(grid.reshape(-1, depth), flat):
        return None
    return axis, int(low[axis]), int(high[axis]), block
