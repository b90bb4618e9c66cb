"""Nothing private leaves by accident: transcripts stay out of the default logs, config errors do not
echo the values given (API keys), client-visible errors carry no URL."""

from __future__ import annotations

import json
import logging

import pytest

from tests.fakes import Step, make_rig, tone
from vagus.config import ConfigError, load_config
from vagus.logs import JsonFormatter, log_transcripts


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.mark.parametrize("transcripts", [False, True])
async def test_session_logs_carry_words_only_when_asked(transcripts):
    handler = Capture()
    logger = logging.getLogger("vagus.events")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    log_transcripts(transcripts)
    try:
        rig = make_rig(turns=[Step("My secret is swordfish.")])
        await rig.play(tone(0.6), tail_s=1.5)
    finally:
        logger.removeHandler(handler)
        log_transcripts(False)
    logged = "\n".join(handler.lines)
    assert any(json.loads(line)["event"]["type"] == "transcript_final" for line in handler.lines)
    assert ("swordfish" in logged) is transcripts
    if not transcripts:
        assert "[4 words]" in logged


def test_config_errors_do_not_echo_values(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("llm: {provider: openai, base_url: 'http://x/v1', api_key: sk-verysecret123, temperature: 9}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert "temperature" in str(err.value) and "sk-verysecret123" not in str(err.value)
    assert "9" not in str(err.value).split("temperature", 1)[1].split(";")[0].replace("less than or equal to 2", "")
