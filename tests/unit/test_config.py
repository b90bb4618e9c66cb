import pytest

from vagus.config import ConfigError, load_config


def test_defaults_are_offline():
    config = load_config(None, env={})
    assert (config.stt.provider, config.llm.provider, config.tts.provider) == ("whisper", "offline", "piper")


def test_yaml_and_json_files(tmp_path):
    (tmp_path / "a.yaml").write_text("name: Ada\nturns:\n  silence_ms: 700\nvad:\n  start_threshold: 0.6\n")
    config = load_config(tmp_path / "a.yaml", env={})
    assert config.name == "Ada" and config.turns.silence_ms == 700 and config.vad.start_threshold == 0.6
    (tmp_path / "b.json").write_text('{"llm": {"provider": "openai", "base_url": "http://127.0.0.1:1/v1"}}')
    assert load_config(tmp_path / "b.json", env={}).llm.base_url == "http://127.0.0.1:1/v1"


def test_environment_points_the_llm_at_an_endpoint():
    env = {"VAGUS_LLM_BASE_URL": "http://localhost:11434/v1", "VAGUS_LLM_MODEL": "llama3.2", "OPENAI_API_KEY": "k"}
    config = load_config(None, env=env)
    assert config.llm.provider == "openai" and config.llm.model == "llama3.2" and config.llm.api_key == "k"
    assert config.stt.provider == "whisper"  # untouched


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("vad:\n  start_threshold: 0.3\n  stop_threshold: 0.5\n", "stop_threshold"),
        ("llm:\n  provider: openai\n", "base_url"),
        ("turns:\n  silence_ms: -5\n", "silence_ms"),
        (
            "turns:\n  end_of_turn:\n    complete_silence_ms: 900\n    incomplete_silence_ms: 300\n",
            "complete_silence_ms",
        ),
        ("turns:\n  end_of_turn:\n    model: magic\n", "model"),
        ("turns:\n  end_of_turn:\n    predict_after_ms: -1\n", "predict_after_ms"),
        ("turns:\n  end_of_turn:\n    text_silence_ms: 0\n", "text_silence_ms"),
        ("turns:\n  agent_backchannels:\n    phrases: []\n", "phrases"),
        ("turns:\n  acknowledgement:\n    after_ms: -3\n", "after_ms"),
        ("turns:\n  barge_in_level_margin_db: 0\n", "barge_in_level_margin_db"),
        ("senses:\n  denoise:\n    engine: rnnoise\n    model_path: /tmp/x.onnx\n", "only used by the gtcrn"),
        ("senses:\n  denoise:\n    engine: magic\n", "engine"),
        ("senses:\n  denoise:\n    clean_snr_db: -1\n", "clean_snr_db"),
        ("unknown_key: 1\n", "unknown_key"),
        ("- a list\n", "mapping"),
        ("a: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_configs_explain_themselves(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path, env={})


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "nope.yaml", env={})


def test_a_config_passed_on_as_json_keeps_its_providers_settings():
    """What `--workers N` sends each worker, and what decides whether a Studio save reloads models:
    a provider's own settings (an endpoint, a key, the voice's variation) must survive the dump."""
    from vagus.agent.services import models_key
    from vagus.config import AgentConfig

    config = AgentConfig.model_validate({
        "llm": {"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m", "api_key": "k"},
        "tts": {"provider": "piper", "noise_scale": 0.3},
    })  # fmt: skip
    data = config.model_dump(mode="json")
    assert data["llm"]["base_url"] == "http://127.0.0.1:9/v1" and data["tts"]["noise_scale"] == 0.3
    assert AgentConfig.model_validate(data) == config
    quieter = config.model_copy(update={"tts": config.tts.model_copy(update={"noise_scale": 0.0})})
    assert models_key(quieter) != models_key(config)
