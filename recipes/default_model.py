"""Train plait's offline default ColBERT from the packaged all-MiniLM-L6-v2, in one command.

    .venv/bin/python recipes/default_model.py --baselines     # full run, writes plait/models/default/
    .venv/bin/python recipes/default_model.py --smoke         # a few steps on a subset, temp output
    .venv/bin/python recipes/default_model.py --trained DIR   # start from a `plait train` output

What it does (every step is a plait library call):

1. fine-tune with ``plait train``'s code (:func:`plait.training.train.train`, the documented
   fine-tuning example plus ``--teacher biencoder``): four BM25-mined hard negatives per SciFact
   *train* (query, positive) pair, a row per negative, 2.5 epochs (the same 288 steps as two
   negatives for 5 epochs), lr 5e-5, batch 32, every layer of
   the packaged MiniLM plus a fresh 384 -> 128 projection, trained with the settings the model is
   used with (256-token queries without ``[MASK]`` expansion, 180-token documents). The loss is
   :class:`plait.losses.TeacherContrastive`: in-batch plus hard-negative contrastive, plus the KL
   divergence to the packaged MiniLM bi-encoder's scores over the same batch (``--teacher``,
   ``--teacher-weight``). Plain contrastive makes a SciFact specialist that loses to the
   bi-encoder on Cranfield and CISI; the teacher term keeps the bi-encoder's general ranking;
2. optionally WiSE-FT: move every encoder weight back towards the packaged base,
   ``base + alpha * (trained - base)`` (``--alpha``, default 1 = no blending: with the teacher,
   blending back lowered all three collections); the projection and the ``[Q]``/``[D]`` marker
   rows keep their trained values, every other word-embedding row its base value;
3. store each weight matrix's difference from the base as a rank-``--rank`` product
   (:func:`plait.models.default.low_rank_difference`, truncated SVD) and the small tensors
   (biases, LayerNorms, projection, markers) in full, float16: the *delta*, written with
   :func:`plait.models.default.save_delta` into ``--delta-folder`` together with the settings the
   model is used with (``--query-length`` 256 without expansion: CISI's long queries need them);
   ``plait.models.ColBERT()`` applies it on top of the packaged base weights at load time;
4. reload the default model from the delta, check it reproduces the blended model, and evaluate it
   (nDCG@10, MRR@10, Recall@100, exact search) on SciFact test, Cranfield and CISI, with BM25 and
   the MiniLM bi-encoder beside it (``--baselines``), and its pair accuracy on plait's negation dev
   set (``plait evaluate --negation``; with ``--baselines`` the bi-encoder's too); ``--sweep-alphas`` evaluates several alphas
   from one training run. The report is printed and written to ``<work-dir>/report.json``.

``--negation-negatives N`` (default 0) also adds up to N negated twins of each positive as hard
negatives (``plait train --negation-negatives``, :mod:`plait.training.negation`): the positive
with one claim's polarity flipped where the query matches.

Only SciFact's train split is used for training (with ``--pseudo-queries title``, also the
corpus titles as unlabelled queries); the test splits are only evaluated.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger("plait.recipes.default_model")

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
EVAL_COLLECTIONS = ("scifact", "cranfield", "cisi")
WORD_EMBEDDINGS = "word_embeddings.weight"


@dataclass
class Recipe:
    """The recipe's settings (command-line flags of the same names)."""

    data: str = str(DATA / "scifact")
    delta_folder: str = ""
    work_dir: str = ""
    trained: str | None = None
    num_negatives: int = 4
    retriever: str = "bm25"
    epochs: float = 2.5
    learning_rate: float = 5e-5
    batch_size: int = 32
    temperature: float = 1.0
    teacher: str | None = "biencoder"
    teacher_weight: float = 1.0
    teacher_lexical_weight: float = 0.0
    pseudo_queries: str | None = None
    negation_negatives: int = 0
    alpha: float = 1.0
    rank: int = 64
    query_length: int = 256
    document_length: int = 180
    query_expansion: bool = False
    fp16: bool = True
    seed: int = 42
    max_steps: int = -1
    trainable_layers: int | None = None
    device: str = "auto"
    evaluate: bool = True
    baselines: bool = False
    eval_data: list[str] = field(default_factory=lambda: [str(DATA / c) for c in EVAL_COLLECTIONS])
    eval_max_queries: int | None = None
    eval_max_documents: int | None = None
    sweep_alphas: list[float] = field(default_factory=list)


def model_settings(recipe: Recipe) -> dict[str, Any]:
    """The ColBERT settings the default model is used (and evaluated) with."""
    return {
        "query_length": recipe.query_length,
        "document_length": recipe.document_length,
        "do_query_expansion": recipe.query_expansion,
    }


def train(recipe: Recipe) -> tuple[str, dict[str, Any]]:
    """Step 1, ``plait train``'s code path; returns the trained folder and training stats."""
    from plait.training.train import TrainConfig
    from plait.training.train import train as fine_tune

    folder = str(Path(recipe.work_dir) / "trained")
    result = fine_tune(
        TrainConfig(
            data=recipe.data,
            output=folder,
            epochs=recipe.epochs,
            learning_rate=recipe.learning_rate,
            batch_size=recipe.batch_size,
            temperature=recipe.temperature,
            num_negatives=recipe.num_negatives,
            retriever=recipe.retriever,
            mining_format="triplet",
            query_length=recipe.query_length,  # trained as it is used (see model_settings)
            document_length=recipe.document_length,
            query_expansion=recipe.query_expansion,
            teacher=recipe.teacher,
            teacher_weight=recipe.teacher_weight,
            teacher_lexical_weight=recipe.teacher_lexical_weight,
            pseudo_queries=recipe.pseudo_queries,
            negation_negatives=recipe.negation_negatives,
            seed=recipe.seed,
            max_steps=recipe.max_steps,
            trainable_layers=recipe.trainable_layers,
            show_progress_bar=sys.stderr.isatty(),
        )
    )
    stats = {
        "rows": result.train_rows,
        "steps": result.steps,
        "train_seconds": round(result.train_seconds, 1),
        "samples_per_second": round(result.samples_per_second, 2),
    }
    return folder, stats


def blend(
    trained_folder: str, recipe: Recipe, alpha: float
) -> tuple[Any, list[str], dict[str, Any]]:
    """Steps 2-3: the default model set to the WiSE-FT blend (low-rank where ``recipe.rank``), the
    names of the tensors stored in full and the ``{name: (up, down)}`` low-rank differences."""
    import torch

    from plait.models import ColBERT
    from plait.models.default import base_model_folder, low_rank_difference

    settings = model_settings(recipe)
    model = ColBERT(str(base_model_folder()), device="cpu", **settings)
    trained = ColBERT(trained_folder, device="cpu", **settings)
    base_state, trained_state = model.state_dict(), trained.state_dict()
    if {k: v.shape for k, v in base_state.items()} != {
        k: v.shape for k, v in trained_state.items()
    }:
        raise ValueError(f"{trained_folder} is not a fine-tune of the packaged MiniLM ColBERT")
    full: list[str] = []
    low_rank: dict[str, Any] = {}
    rows = [model.query_prefix_id, model.document_prefix_id]
    with torch.no_grad():
        for name, tuned in trained_state.items():
            if name.startswith("1."):  # the projection: its "base" is a random initialisation
                base_state[name].copy_(tuned)
                full.append(name)
            elif name.endswith(WORD_EMBEDDINGS):  # markers only (save_delta stores their rows)
                base_state[name][rows] = tuned[rows]
            elif not torch.equal(tuned, base_state[name]):
                base = base_state[name].clone()
                target = base + alpha * (tuned - base)
                if recipe.rank and target.ndim == 2 and min(target.shape) > recipe.rank:
                    up, down = low_rank_difference(target, base, recipe.rank)
                    base_state[name].copy_(base + up @ down)
                    low_rank[name] = (up, down)
                else:
                    base_state[name].copy_(target)
                    full.append(name)
    return model, full, low_rank


def write_delta(
    model: Any,
    names: list[str],
    low_rank: dict[str, Any],
    folder: Path,
    fp16: bool,
    settings: dict[str, Any],
) -> int:
    """Save the delta with plait's own writer (optionally as float16) and record the ColBERT
    settings it is used with in ``delta.json`` (``"settings"``); returns the weights' bytes."""
    from safetensors.torch import load_file, save_file

    from plait.models.default import DELTA_CONFIG, DELTA_WEIGHTS, save_delta

    save_delta(model, names, folder=folder, low_rank=low_rank)
    config = json.loads((folder / DELTA_CONFIG).read_text(encoding="utf8"))
    config["settings"] = settings
    (folder / DELTA_CONFIG).write_text(json.dumps(config, indent=2) + "\n", encoding="utf8")
    path = folder / DELTA_WEIGHTS
    if fp16:
        tensors = {k: v.half().contiguous() for k, v in load_file(str(path)).items()}
        save_file(tensors, str(path))
    return path.stat().st_size


def make_delta(trained_folder: str, recipe: Recipe, alpha: float, folder: Path) -> dict[str, Any]:
    """Blend, write the delta to ``folder``, reload it; returns its facts and the reloaded model."""
    model, names, low_rank = blend(trained_folder, recipe, alpha)
    size = write_delta(model, names, low_rank, folder, recipe.fp16, model_settings(recipe))
    reloaded = load_default(folder, model_settings(recipe))
    return {
        "folder": str(folder),
        "alpha": alpha,
        "rank": recipe.rank,
        "bytes": size,
        "full_tensors": len(names),
        "low_rank_tensors": len(low_rank),
        "reload_max_abs_diff": check_reload(model, reloaded),
        "model": reloaded.to(evaluation_device(recipe.device)),  # evaluated there
    }


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
    else:  # the settings ColBERT() reads from the packaged delta.json, read from this one
        recorded = default_model.delta_settings(folder=folder)
        model = ColBERT(str(default_model.base_model_folder()), device="cpu", **recorded)
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


def evaluation_device(device: str) -> str:
    """``"auto"`` -> the device sentence-transformers would pick (cuda when a GPU is visible,
    else cpu); anything else as given."""
    if device != "auto":
        return device
    from sentence_transformers.util import get_device_name

    return get_device_name()


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
    report.update(negation(model, recipe, recipe.baselines and with_baselines))
    return report


def negation(model: Any, recipe: Recipe, with_baselines: bool) -> dict[str, dict[str, float]]:
    """Pair accuracy and rank on plait's negation dev set (``plait evaluate --negation``)."""
    from plait.data import load_negation_dev
    from plait.evaluation import evaluate_negation

    triples = load_negation_dev()
    if recipe.eval_max_documents:  # smoke runs: a slice with both sides
        triples = triples[::16]
    systems: dict[str, Any] = {"colbert": model}
    if with_baselines:
        from plait.baselines import BiEncoder

        systems["biencoder"] = BiEncoder(device="cpu")
    out = {}
    for label, system in systems.items():
        result = evaluate_negation(system, triples)
        out[f"negation/{label}"] = {
            "pair_accuracy": result.pair_accuracy,
            "document_side": result.groups["side:document"]["pair_accuracy"],
            "query_side": result.groups["side:query"]["pair_accuracy"],
            "mean_rank": result.mean_rank,
        }
        logger.info("negation/%s: %s", label, out[f"negation/{label}"])
    return out


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
    start = time.perf_counter()
    report: dict[str, Any] = {"recipe": asdict(recipe)}
    if recipe.trained:
        trained_folder = recipe.trained
    else:
        trained_folder, report["training"] = train(recipe)
        report["training"]["mining_and_training_seconds"] = round(time.perf_counter() - start, 1)
    if recipe.sweep_alphas:
        report["alpha_sweep"] = {}
        for position, alpha in enumerate(recipe.sweep_alphas):
            facts = make_delta(trained_folder, recipe, alpha, work / "deltas" / f"alpha-{alpha:g}")
            model = facts.pop("model")
            facts["evaluation"] = evaluate(model, recipe, position == 0)
            report["alpha_sweep"][f"{alpha:g}"] = facts
            logger.info("alpha %g: %s", alpha, facts)
    swept = report.get("alpha_sweep", {}).get(f"{recipe.alpha:g}")
    if swept is not None:  # already blended, written and evaluated: copy that delta
        shutil.copytree(swept["folder"], recipe.delta_folder, dirs_exist_ok=True)
        report["delta"] = {**swept, "folder": recipe.delta_folder}
        del report["delta"]["evaluation"]
        if recipe.evaluate:
            report["evaluation"] = swept["evaluation"]
    else:
        facts = make_delta(trained_folder, recipe, recipe.alpha, Path(recipe.delta_folder))
        model = facts.pop("model")
        report["delta"] = facts
        if recipe.evaluate:
            report["evaluation"] = evaluate(model, recipe)
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
    parser.add_argument("--work-dir", default=None, help="trained model, deltas, report.json")
    parser.add_argument(
        "--trained", default=None, help="skip training: blend this `plait train` output folder"
    )
    for name in (
        "num_negatives",
        "batch_size",
        "seed",
        "max_steps",
        "rank",
        "query_length",
        "document_length",
        "negation_negatives",
    ):
        parser.add_argument(
            "--" + name.replace("_", "-"), type=int, default=getattr(defaults, name)
        )
    for name in (
        "epochs",
        "learning_rate",
        "temperature",
        "teacher_weight",
        "teacher_lexical_weight",
        "alpha",
    ):
        parser.add_argument(
            "--" + name.replace("_", "-"), type=float, default=getattr(defaults, name)
        )
    parser.add_argument(
        "--retriever",
        default=defaults.retriever,
        help="first-stage retriever the hard negatives are mined with ('bm25', 'biencoder', "
        "'colbert' or a model folder), as `plait train --retriever`",
    )
    parser.add_argument(
        "--trainable-layers",
        type=int,
        default=None,
        help="train only the projection and the top N encoder layers (default: every layer)",
    )
    parser.add_argument(
        "--device",
        default=defaults.device,
        help="torch device the evaluation encodes on ('auto': sentence-transformers' pick, cuda "
        "when available, else cpu; "
        "training always runs where the trainer puts it)",
    )
    parser.add_argument(
        "--query-expansion", action="store_true", help="use the model with [MASK] expansion"
    )
    parser.add_argument(
        "--teacher",
        default=defaults.teacher,
        help="single-vector teacher distilled during training ('biencoder' = the packaged "
        "MiniLM, a sentence-transformers folder, or 'none' for plain contrastive)",
    )
    parser.add_argument(
        "--pseudo-queries",
        default=None,
        choices=["title"],
        help="also train on SciFact corpus titles as queries for their bodies (unlabelled; "
        "`plait train --pseudo-queries`)",
    )
    parser.add_argument(
        "--sweep-alphas",
        default="",
        help="comma-separated alphas to evaluate from one training run (e.g. 1,0.6,0.4); "
        "each delta is kept under <work-dir>/deltas/",
    )
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
        trained=args.trained,
        num_negatives=args.num_negatives,
        retriever=args.retriever,
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        temperature=args.temperature,
        teacher=None if args.teacher == "none" else args.teacher,
        teacher_weight=args.teacher_weight,
        teacher_lexical_weight=args.teacher_lexical_weight,
        pseudo_queries=args.pseudo_queries,
        negation_negatives=args.negation_negatives,
        alpha=args.alpha,
        rank=args.rank,
        query_length=args.query_length,
        document_length=args.document_length,
        query_expansion=args.query_expansion,
        fp16=not args.fp32,
        seed=args.seed,
        max_steps=args.max_steps,
        trainable_layers=args.trainable_layers,
        device=args.device,
        evaluate=not args.no_eval,
        baselines=args.baselines,
        eval_max_queries=args.eval_max_queries,
    )
    recipe.sweep_alphas = [float(a) for a in args.sweep_alphas.split(",") if a.strip()]
    if args.eval_data is not None:
        recipe.eval_data = list(args.eval_data)
    if args.smoke:
        scratch = tempfile.mkdtemp(prefix="plait-recipe-smoke-")
        recipe.max_steps, recipe.batch_size = 2, 8
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
