"""Finding model files that ship inside installed wheels.

Every offline model (VAD, STT, TTS, noise suppression) comes from a wheel; this reads the file's path
from the package's install location without importing the package (silero-vad's import pulls torch).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path


class ModelNotFoundError(FileNotFoundError):
    pass


def cpu_onnx_session(path: Path, what: str, threads: int = 1, rewrite: Callable[[Path], bytes] | None = None):  # type: ignore[no-untyped-def]
    """An onnxruntime CPU session for a small per-call model (one inter-op thread, quiet logs).

    `rewrite`: turns the file into the serialized model to load (a load-time graph rewrite); its
    failures on a corrupt or foreign file are reported like onnxruntime's own.
    """
    import onnxruntime as ort

    ort.disable_telemetry_events()  # everything offline: no usage events, wherever ORT would send them
    if not path.is_file():
        raise ModelNotFoundError(f"{what} model file not found: {path}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        model = str(path) if rewrite is None else rewrite(path)
        return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnx/onnxruntime raise their own types for a corrupt or foreign file
        raise ModelNotFoundError(f"{what} model {path} is not a usable ONNX model: {exc}") from exc


def find_packaged_model(package: str, relative: str, hint: str) -> Path:
    """Locate a model file inside an installed wheel without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(f"package {package!r} is not installed: {hint}")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / relative
        if candidate.is_file():
            return candidate
    raise ModelNotFoundError(f"{relative} not found in package {package!r}: {hint}")


def check_sha256(path: Path, expected: str, what: str) -> None:
    """The file is the one that was measured: a different build of a model is refused, not guessed at."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected.lower():
        raise ModelNotFoundError(f"{what} model {path} is not the expected file (sha256 {digest.hexdigest()[:12]}…)")


def model_file(
    given: str | Path | None, sha256: str | None, packaged: tuple[str, str], packaged_sha256: str, hint: str, what: str
) -> Path:
    """The model file to load: the packaged one (checked against the measured sha256), or a path the
    user gave (checked against `sha256` when they gave one)."""
    if given is None:
        path = find_packaged_model(*packaged, hint)
        check_sha256(path, packaged_sha256, what)
        return path
    path = Path(given).expanduser()
    if not path.is_file():
        raise ModelNotFoundError(f"{what} model file not found: {path}")
    if sha256:
        check_sha256(path, sha256, what)
    return path
