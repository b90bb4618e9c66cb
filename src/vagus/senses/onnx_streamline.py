"""Rewrite a streaming ONNX graph's costly small operations into cheap equivalents, at load time.

Why: a frame-by-frame model such as GTCRN runs ~430 tiny nodes per 16 ms; onnxruntime's cost is then
mostly per node, not arithmetic. Three rewrites, each exact:

1. In-place cache writes exported from PyTorch (`cache[:, :, a:b] = x`) arrive as `ScatterND` with a
   constant index per element; onnxruntime copies the tensor and walks the index list on every call.
   When the indices cover one contiguous range along a single axis (and all of every other axis),
   the node equals a Concat of the untouched slices around the update.
2. Layout-only nodes — a Transpose that moves only size-1 axes, Squeeze, Unsqueeze — become Reshapes
   (onnxruntime aliases a Reshape's output to its input instead of copying), and chains of Reshapes
   collapse into one.
3. `Pow(x, 2)` (a libm `powf` per element) becomes `Mul(x, x)`.

Nodes that do not match are left alone, so any graph loads, rewritten or not; tests compare the
outputs of the original and rewritten graphs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(slots=True)
class StreamlineReport:
    scatters_replaced: int = 0
    scatters_kept: int = 0
    squares_replaced: int = 0
    layout_nodes_reshaped: int = 0
    reshapes_merged: int = 0


class _Graph:
    """The graph's nodes with their static shapes and constants, and a way to add int64 constants."""

    def __init__(self, model: Any) -> None:
        from onnx import numpy_helper, shape_inference

        self.model = shape_inference.infer_shapes(model)
        graph = self.model.graph
        self.shapes: dict[str, list[int]] = {}
        for value in [*graph.value_info, *graph.input, *graph.output]:
            tensor = value.type.tensor_type
            dims = tensor.shape.dim
            if tensor.HasField("shape") and all(d.HasField("dim_value") for d in dims):  # no shape: rank unknown
                self.shapes[value.name] = [d.dim_value for d in dims]
        self.constants = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
        for node in graph.node:
            if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
                self.constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
        self.outputs = {o.name for o in graph.output}
        self._added = 0

    def int64(self, values: list[int]) -> str:
        from onnx import numpy_helper

        name = f"vagus_streamline_const_{len(self.model.graph.initializer)}_{self._added}"
        self._added += 1
        self.model.graph.initializer.append(numpy_helper.from_array(np.asarray(values, dtype=np.int64), name))
        self.constants[name] = np.asarray(values, dtype=np.int64)
        return name

    def replace_nodes(self, nodes: list) -> None:
        del self.model.graph.node[:]
        self.model.graph.node.extend(nodes)


def streamline_onnx(path: Path) -> tuple[bytes, StreamlineReport]:
    """The model at `path`, serialized with the rewrites above applied."""
    import onnx

    report = StreamlineReport()
    graph = _Graph(onnx.load(str(path)))
    _replace_scatters_and_squares(graph, report)
    graph = _Graph(graph.model)  # shapes of the new Concat outputs
    _reshape_layout_nodes(graph, report)
    _merge_reshape_chains(graph, report)
    return graph.model.SerializeToString(), report


def _replace_scatters_and_squares(g: _Graph, report: StreamlineReport) -> None:
    from onnx import helper

    nodes: list = []
    for node in g.model.graph.node:
        if node.op_type == "ScatterND" and len(node.input) == 3 and not node.attribute:
            block = _block_update(g.constants.get(node.input[1]), g.shapes.get(node.input[0]))
            if block is None:
                report.scatters_kept += 1
            else:
                data, updates = node.input[0], node.input[2]
                axis, start, stop, update_shape = block
                length = g.shapes[data][axis]
                out = node.output[0]
                parts = []
                nodes.append(helper.make_node("Reshape", [updates, g.int64(update_shape)], [f"{out}__vagus_update"]))
                if start > 0:
                    bounds = [g.int64([0]), g.int64([start]), g.int64([axis])]
                    nodes.append(helper.make_node("Slice", [data, *bounds], [f"{out}__vagus_before"]))
                    parts.append(f"{out}__vagus_before")
                parts.append(f"{out}__vagus_update")
                if stop < length:
                    bounds = [g.int64([stop]), g.int64([length]), g.int64([axis])]
                    nodes.append(helper.make_node("Slice", [data, *bounds], [f"{out}__vagus_after"]))
                    parts.append(f"{out}__vagus_after")
                nodes.append(helper.make_node("Concat", parts, [out], axis=axis))
                report.scatters_replaced += 1
                continue
        if node.op_type == "Pow" and len(node.input) == 2:
            exponent = g.constants.get(node.input[1])
            if exponent is not None and exponent.size == 1 and float(exponent.reshape(-1)[0]) == 2.0:
                nodes.append(helper.make_node("Mul", [node.input[0], node.input[0]], list(node.output)))
                report.squares_replaced += 1
                continue
        nodes.append(node)
    g.replace_nodes(nodes)


def _reshape_layout_nodes(g: _Graph, report: StreamlineReport) -> None:
    from onnx import helper

    nodes: list = []
    for node in g.model.graph.node:
        out_shape = g.shapes.get(node.output[0]) if len(node.output) == 1 else None
        in_shape = g.shapes.get(node.input[0]) if node.input else None
        movable = out_shape is not None and in_shape is not None and 0 not in out_shape
        if movable and node.op_type == "Transpose":
            perm = next((list(a.ints) for a in node.attribute if a.name == "perm"), None)
            if perm is None:
                perm = list(range(len(in_shape)))[::-1]  # type: ignore[arg-type]
            kept = [p for p in perm if in_shape[p] != 1]  # type: ignore[index]
            movable = kept == sorted(kept)  # only size-1 axes move: the bytes stay in order
        elif movable and node.op_type in ("Squeeze", "Unsqueeze"):
            movable = len(node.input) == 1 or node.input[1] in g.constants
        else:
            movable = False
        if movable:
            nodes.append(helper.make_node("Reshape", [node.input[0], g.int64(out_shape)], [node.output[0]]))  # type: ignore[arg-type]
            report.layout_nodes_reshaped += 1
        else:
            nodes.append(node)
    g.replace_nodes(nodes)


def _merge_reshape_chains(g: _Graph, report: StreamlineReport) -> None:
    """Reshape(Reshape(x, a), b) → Reshape(x, b) where the inner result has no other use."""
    from onnx import helper

    nodes = list(g.model.graph.node)
    uses: dict[str, int] = {}
    for name in _inputs_used(g.model.graph):
        uses[name] = uses.get(name, 0) + 1
    producer = {node.output[0]: i for i, node in enumerate(nodes) if node.output}
    dropped: set[int] = set()
    for i, node in enumerate(nodes):
        shape = g.constants.get(node.input[1]) if node.op_type == "Reshape" else None
        if shape is None or (shape == 0).any():  # a 0 copies a dimension of the input: it must stay the same
            continue
        source = node.input[0]
        j = producer.get(source)
        while (
            j is not None
            and j not in dropped
            and nodes[j].op_type == "Reshape"
            and uses.get(source) == 1
            and source not in g.outputs
        ):
            dropped.add(j)
            report.reshapes_merged += 1
            source = nodes[j].input[0]
            j = producer.get(source)
        if source != node.input[0]:
            nodes[i] = helper.make_node("Reshape", [source, node.input[1]], list(node.output), name=node.name)
    g.replace_nodes([node for i, node in enumerate(nodes) if i not in dropped])


def _inputs_used(graph: Any) -> list[str]:
    """Every input name read by the graph's nodes, including nodes of subgraphs (If, Loop, Scan), which
    may read the outer graph's values."""
    names: list[str] = []
    for node in graph.node:
        names.extend(node.input)
        for attribute in node.attribute:
            for sub in [attribute.g] if attribute.HasField("g") else list(attribute.graphs):
                names.extend(_inputs_used(sub))
    return names


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
