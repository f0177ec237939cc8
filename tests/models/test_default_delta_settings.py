"""The packaged delta's training settings apply to ``ColBERT()`` below the caller's arguments."""

import json
from pathlib import Path

import pytest

from plait.models import ColBERT
from plait.models import default as default_model


def _write_delta(folder: Path, config: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / default_model.DELTA_WEIGHTS).write_bytes(b"")
    (folder / default_model.DELTA_CONFIG).write_text(json.dumps(config))


def test_delta_settings_read_from_config(tmp_path: Path) -> None:
    _write_delta(tmp_path, {"embedding_size": 128, "settings": {"query_length": 256}})
    assert default_model.delta_settings(folder=tmp_path) == {"query_length": 256}
    assert default_model.delta_settings(explicit_embedding_size=64, folder=tmp_path) == {}
    assert default_model.delta_settings(folder=tmp_path / "absent") == {}


@pytest.mark.slow  # loads the default model; reading the settings is tested above
def test_default_model_uses_delta_settings_unless_overridden(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fake(explicit_embedding_size=None, folder=None):
        return {"query_length": 64, "do_query_expansion": False}

    monkeypatch.setattr(default_model, "delta_settings", fake)
    model = ColBERT()
    assert model.query_length == 64 and model.do_query_expansion is False
    assert ColBERT(query_length=40).query_length == 40
