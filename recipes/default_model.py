"""Train plait's offline default ColBERT from the packaged all-MiniLM-L6-v2, in one command.

    .venv/bin/python recipes/default_model.py                 # full run, writes plait/models/default/
    .venv/bin/python recipes/default_model.py --smoke         # a few steps on a subset, temp output

What it does (every step is a plait library call):

1. mine ``--num-negatives`` BM25 hard negatives per SciFact *train* (query, positive) pair
   (:func:`plait.training.mine_hard_negatives`);
2. start from ``ColBERT(<packaged MiniLM folder>)``: the encoder plus the seeded 384 -> 128
   projection and marker embeddings, i.e. exactly the default model without a delta;
3. train the projection, the ``[Q]``/``[D]`` marker rows and the top ``--trainable-layers`` encoder
   layers (the rest stays frozen) with :class:`plait.losses.Contrastive`, in-batch plus hard
   negatives, through the stock sentence-transformers trainer;
4. optionally interpolate the trained layers back towards the base weights
   (``--alpha``: ``base + alpha * (trained - base)``, WiSE-FT) so the model keeps more of MiniLM's
   general behaviour and does not become a SciFact specialist;
5. write the *delta* (projection, trained layers, marker rows; float16 with ``--fp16``) with
   :func:`plait.models.default.save_delta` into ``--delta-folder``; ``plait.models.ColBERT()``
   applies it on top of the packaged base weights at load time;
6. reload the default model from the delta, check it reproduces the trained model, and evaluate
   it (nDCG@10, MRR@10, Recall@100, exact search) on SciFact test, Cranfield and CISI, with BM25 and
   the MiniLM bi-encoder beside it (``--baselines``). The report is printed and written to
   ``<work-dir>/report.json``.

Only SciFact's train split is used for training; the test splits are only evaluated.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger("plait.recipes.default_model")

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
EVAL_COLLECTIONS = ("scifact", "cranfield", "cisi")
PROJECTION = "1.linear.weight"


@dataclass
class Recipe:
    """The recipe's settings (command-line flags of the same names)."""

    data: str = str(DATA / "scifact")
    delta_folder: str = ""
    work_dir: str = ""
    num_negatives: int = 2
    range_max: int = 30
    trainable_layers: int = 2
    epochs: float = 3.0
    learning_rate: float = 5e-5
    warmup_ratio: float = 0.1
    batch_size: int = 32
    temperature: float = 1.0
    query_length: int = 256
    document_length: int = 180
    query_expansion: bool = False
    alpha: float = 1.0
    fp16: bool = True
    seed: int = 42
    max_rows: int | None = None
    max_steps: int = -1
    evaluate: bool = True
    baselines: bool = False
    eval_data: list[str] = field(default_factory=lambda: [str(DATA / c) for c in EVAL_COLLECTIONS])
    eval_max_queries: int | None = None
    eval_max_documents: int | None = None
    sweep_alphas: list[float] = field(default_factory=list)


def model_settings(recipe: Recipe) -> dict[str, Any]:
    """The ColBERT settings the model is trained (and must be used) with."""
    return {
        "query_length": recipe.query_length,
        "document_length": recipe.document_length,
        "do_query_expansion": recipe.query_expansion,
    }


def mine(recipe: Recipe) -> list[dict[str, str]]:
    """BM25 hard negatives for SciFact train pairs."""
    from plait.training import mine_hard_negatives

    rows = mine_hard_negatives(
        recipe.data,
        split="train",
        retriever="bm25",
        num_negatives=recipe.num_negatives,
        range_max=recipe.range_max,
        seed=recipe.seed,
    )
    return rows[: recipe.max_rows] if recipe.max_rows else rows


def trained_names(model: Any, trainable_layers: int) -> list[str]:
    """State-dict names of the projection and the top ``trainable_layers`` encoder layers."""
    n_layers = len(model[0].auto_model.encoder.layer)
    layers = {f".encoder.layer.{i}." for i in range(n_layers - trainable_layers, n_layers)}
    names = [name for name in model.state_dict() if any(tag in name for tag in layers)]
    projection = [name for name in model.state_dict() if name.startswith("1.")]
    return projection + names


def train(recipe: Recipe, rows: list[dict[str, str]]) -> tuple[Any, dict[str, Any]]:
    """Fine-tune the top layers, projection and markers; returns the model and training stats."""
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.base.sampler import BatchSamplers
    from transformers.trainer_callback import PrinterCallback

    from plait import losses
    from plait.models import ColBERT
    from plait.models.default import base_model_folder
    from plait.training import ColBERTCollator
    from plait.training.train import freeze_lower_layers

    model = ColBERT(str(base_model_folder()), device="cpu", **model_settings(recipe))
    freeze_lower_layers(model, recipe.trainable_layers)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(Path(recipe.work_dir) / "checkpoints"),
        num_train_epochs=recipe.epochs,
        max_steps=recipe.max_steps,
        per_device_train_batch_size=recipe.batch_size,
        learning_rate=recipe.learning_rate,
        warmup_steps=recipe.warmup_ratio,
        seed=recipe.seed,
        batch_sampler=BatchSamplers.NO_DUPLICATES,
        save_strategy="no",
        logging_steps=10,
        report_to="none",
        disable_tqdm=not sys.stderr.isatty(),
        dataloader_pin_memory=False,
    )
    trainer = SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(rows),
        loss=losses.Contrastive(model=model, temperature=recipe.temperature),
        data_collator=ColBERTCollator(model.tokenize),
    )
    if not sys.stderr.isatty():
        trainer.remove_callback(PrinterCallback)
    start = time.perf_counter()
    output = trainer.train()
    seconds = time.perf_counter() - start
    history = [log for log in trainer.state.log_history if "loss" in log]
    stats = {
        "rows": len(rows),
        "steps": int(output.global_step),
        "train_seconds": round(seconds, 1),
        "samples_per_second": round(float(output.metrics.get("train_samples_per_second", 0.0)), 2),
        "first_loss": history[0]["loss"] if history else None,
        "last_loss": history[-1]["loss"] if history else None,
    }
    return model, stats


def interpolate(model: Any, names: list[str], alpha: float, trained: dict[str, Any]) -> None:
    """Set the encoder tensors in ``names`` to ``base + alpha * (trained - base)`` (WiSE-FT); the
    projection keeps its trained value (its "base" is a random initialisation)."""
    import torch

    from plait.models import ColBERT
    from plait.models.default import base_model_folder

    base = ColBERT(str(base_model_folder()), device="cpu").state_dict() if alpha != 1.0 else {}
    state = model.state_dict()
    with torch.no_grad():
        for name in names:
            if alpha == 1.0 or name.startswith("1."):
                state[name].copy_(trained[name])
            else:
                state[name].copy_(base[name] + alpha * (trained[name] - base[name]))


def sweep(model: Any, names: list[str], trained: dict[str, Any], recipe: Recipe) -> dict[str, Any]:
    """For each ``--sweep-alphas`` value: interpolate, write a delta under ``<work-dir>/deltas/``,
    reload it and evaluate. Any of these folders can be copied to ``plait/models/default/``."""
    results: dict[str, Any] = {}
    for position, alpha in enumerate(recipe.sweep_alphas):
        interpolate(model, names, alpha, trained)
        folder = Path(recipe.work_dir) / "deltas" / f"alpha-{alpha:g}"
        write_delta(model, names, folder, recipe.fp16, model_settings(recipe))
        reloaded = load_default(folder, model_settings(recipe))
        results[f"{alpha:g}"] = {
            "folder": str(folder),
            "evaluation": evaluate(reloaded, recipe, position == 0),
        }
        logger.info("alpha %g: %s", alpha, results[f"{alpha:g}"]["evaluation"])
    return results


def write_delta(
    model: Any, names: list[str], folder: Path, fp16: bool, settings: dict[str, Any]
) -> int:
    """Save the delta with plait's own writer (optionally as float16) and record the ColBERT
    settings it was trained with in ``delta.json`` (``"settings"``); returns the weights' bytes."""
    from safetensors.torch import load_file, save_file

    from plait.models.default import DELTA_CONFIG, DELTA_WEIGHTS, save_delta

    save_delta(model, names, folder=folder)
    config = json.loads((folder / DELTA_CONFIG).read_text(encoding="utf8"))
    config["settings"] = settings
    (folder / DELTA_CONFIG).write_text(json.dumps(config, indent=2) + "\n", encoding="utf8")
    path = folder / DELTA_WEIGHTS
    if fp16:
        tensors = {k: v.half().contiguous() for k, v in load_file(str(path)).items()}
        save_file(tensors, str(path))
    return path.stat().st_size


def load_default(folder: Path, settings: dict[str, Any]) -> Any:
    """``ColBERT()`` with the delta in ``folder`` (the packaged path when it is the default one).

    Warns when the loaded model does not use the settings the delta was trained with (a
    ``plait.models.default`` that ignores ``delta.json``'s ``"settings"``); the evaluation then
    applies them explicitly, so the numbers describe the trained model.
    """
    from plait.models import ColBERT
    from plait.models import default as default_model

    if folder.resolve() == default_model.DELTA_FOLDER.resolve():
        model = ColBERT(device="cpu")
    else:
        model = ColBERT(str(default_model.base_model_folder()), device="cpu")
        if not default_model.apply_delta(model, folder=folder):
            raise RuntimeError(f"no delta found in {folder}")
    wrong = {k: getattr(model, k) for k, v in settings.items() if getattr(model, k) != v}
    if wrong:
        logger.warning(
            "the loaded default model ignores the delta's settings %s (has %s): apply_delta must "
            "read delta.json 'settings'; evaluating with the trained settings",
            settings,
            wrong,
        )
        for key, value in settings.items():
            setattr(model, key, value)
    return model


def check_reload(trained: Any, reloaded: Any) -> float:
    """Max abs difference between the trained and the reloaded model's embeddings."""
    import numpy as np

    texts = ["Aspirin lowers the risk of heart attack.", "what causes transformer overfitting"]
    worst = 0.0
    for is_query in (True, False):
        a = trained.encode(texts, is_query=is_query)
        b = reloaded.encode(texts, is_query=is_query)
        worst = max(worst, max(float(np.abs(x - y).max()) for x, y in zip(a, b, strict=True)))
    return worst


def evaluate(
    model: Any, recipe: Recipe, with_baselines: bool = True
) -> dict[str, dict[str, float]]:
    """nDCG@10 / MRR@10 / Recall@100 per collection (exact MaxSim), plus baselines if asked
    (``--baselines`` and ``with_baselines``: an alpha sweep runs them only once)."""
    from plait.evaluation import load_beir
    from plait.evaluation.evaluators import ColBERTInformationRetrievalEvaluator

    report: dict[str, dict[str, float]] = {}
    for folder in recipe.eval_data:
        name = Path(folder).name
        documents, queries, qrels = load_beir(folder, split="test")
        queries = queries[: recipe.eval_max_queries] if recipe.eval_max_queries else queries
        corpus = {d["id"]: d["text"] for d in documents}
        if recipe.eval_max_documents:  # smoke runs: judged documents plus the first N others
            judged = {d for q in queries for d in qrels[q["id"]]}
            keep = list(corpus)[: recipe.eval_max_documents]
            corpus = {d: corpus[d] for d in corpus if d in judged or d in keep}
        evaluator = ColBERTInformationRetrievalEvaluator(
            queries={q["id"]: q["text"] for q in queries},
            corpus=corpus,
            relevant_docs={q["id"]: qrels[q["id"]] for q in queries},
            batch_size=64,
        )
        start = time.perf_counter()
        report[f"{name}/colbert"] = {**evaluator(model), "seconds": time.perf_counter() - start}
        if recipe.baselines and with_baselines:
            report.update(baselines(folder, recipe.eval_max_queries))
        logger.info("%s: %s", name, report[f"{name}/colbert"])
    return report


def baselines(folder: str, max_queries: int | None) -> dict[str, dict[str, float]]:
    """BM25 and the MiniLM bi-encoder through plait's shared evaluation path."""
    from plait.baselines import BM25, BiEncoder
    from plait.evaluation import evaluate_retriever, load_beir

    documents, queries, qrels = load_beir(folder, split="test")
    if max_queries is not None:
        queries = queries[:max_queries]
        qrels = {q["id"]: qrels[q["id"]] for q in queries}
    name = Path(folder).name
    out = {}
    for label, system in (("bm25", BM25()), ("biencoder", BiEncoder(device="cpu"))):
        result = evaluate_retriever(system, documents, queries, qrels)
        out[f"{name}/{label}"] = dict(result.metrics)
    return out


def run(recipe: Recipe) -> dict[str, Any]:
    """The whole recipe; returns (and writes) the report."""
    work = Path(recipe.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    delta_folder = Path(recipe.delta_folder)
    start = time.perf_counter()
    rows = mine(recipe)
    mined_seconds = time.perf_counter() - start
    model, stats = train(recipe, rows)
    names = trained_names(model, recipe.trainable_layers)
    trained = {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}
    swept = sweep(model, names, trained, recipe) if recipe.sweep_alphas else None
    interpolate(model, names, recipe.alpha, trained)
    size = write_delta(model, names, delta_folder, recipe.fp16, model_settings(recipe))
    reloaded = load_default(delta_folder, model_settings(recipe))
    report: dict[str, Any] = {
        "recipe": asdict(recipe),
        "mining_seconds": round(mined_seconds, 1),
        "training": stats,
        "delta": {"folder": str(delta_folder), "bytes": size, "tensors": len(names) + 1},
        "reload_max_abs_diff": check_reload(model, reloaded),
    }
    if swept is not None:
        report["alpha_sweep"] = swept
    if recipe.evaluate and f"{recipe.alpha:g}" in (swept or {}):
        report["evaluation"] = swept[f"{recipe.alpha:g}"]["evaluation"]  # type: ignore[index]
    elif recipe.evaluate:
        report["evaluation"] = evaluate(reloaded, recipe)
    report["total_seconds"] = round(time.perf_counter() - start, 1)
    (work / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf8")
    return report


def parse(argv: list[str] | None = None) -> Recipe:
    """Command-line flags -> :class:`Recipe`."""
    defaults = Recipe()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--data", default=defaults.data, help="SciFact BEIR folder (train split used)"
    )
    parser.add_argument("--delta-folder", default=None, help="default: plait/models/default")
    parser.add_argument("--work-dir", default=None, help="checkpoints and report.json")
    for name in (
        "num_negatives",
        "range_max",
        "trainable_layers",
        "batch_size",
        "seed",
        "max_steps",
        "query_length",
        "document_length",
    ):
        parser.add_argument(
            "--" + name.replace("_", "-"), type=int, default=getattr(defaults, name)
        )
    for name in ("epochs", "learning_rate", "warmup_ratio", "temperature", "alpha"):
        parser.add_argument(
            "--" + name.replace("_", "-"), type=float, default=getattr(defaults, name)
        )
    parser.add_argument(
        "--query-expansion", action="store_true", help="pad queries with [MASK] to query_length"
    )
    parser.add_argument(
        "--sweep-alphas",
        default="",
        help="comma-separated alphas to evaluate from one training run (e.g. 1,0.75,0.5); "
        "each delta is kept under <work-dir>/deltas/",
    )
    parser.add_argument("--max-rows", type=int, default=None, help="train on the first N rows")
    parser.add_argument("--fp32", action="store_true", help="store the delta in float32")
    parser.add_argument("--no-eval", action="store_true", help="skip the evaluation")
    parser.add_argument("--baselines", action="store_true", help="also run BM25 and the bi-encoder")
    parser.add_argument("--eval-max-queries", type=int, default=None)
    parser.add_argument("--eval-data", nargs="*", default=None, help="BEIR folders to evaluate")
    parser.add_argument(
        "--smoke", action="store_true", help="a few steps on a subset (temp output)"
    )
    args = parser.parse_args(argv)
    recipe = Recipe(
        data=args.data,
        num_negatives=args.num_negatives,
        range_max=args.range_max,
        trainable_layers=args.trainable_layers,
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        warmup_ratio=args.warmup_ratio,
        batch_size=args.batch_size,
        temperature=args.temperature,
        query_length=args.query_length,
        document_length=args.document_length,
        query_expansion=args.query_expansion,
        alpha=args.alpha,
        fp16=not args.fp32,
        seed=args.seed,
        max_rows=args.max_rows,
        max_steps=args.max_steps,
        evaluate=not args.no_eval,
        baselines=args.baselines,
        eval_max_queries=args.eval_max_queries,
    )
    recipe.sweep_alphas = [float(a) for a in args.sweep_alphas.split(",") if a.strip()]
    if args.eval_data is not None:
        recipe.eval_data = list(args.eval_data)
    if args.smoke:
        scratch = tempfile.mkdtemp(prefix="plait-recipe-smoke-")
        recipe.max_rows, recipe.max_steps, recipe.batch_size = 16, 2, 8
        recipe.eval_data = recipe.eval_data[-1:]
        recipe.eval_max_queries, recipe.eval_max_documents = 3, 50
        recipe.delta_folder = args.delta_folder or os.path.join(scratch, "delta")
        recipe.work_dir = args.work_dir or os.path.join(scratch, "work")
    else:
        from plait.models.default import DELTA_FOLDER

        recipe.delta_folder = args.delta_folder or str(DELTA_FOLDER)
        recipe.work_dir = args.work_dir or os.path.join(
            tempfile.gettempdir(), "plait-default-model"
        )
    return recipe


def main(argv: list[str] | None = None) -> None:
    """Run the recipe from the command line and print the report."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    report = run(parse(argv))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
