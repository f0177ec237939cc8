"""Losses against hand-computed values (plain loops), gradient equality, and optimisation."""

from __future__ import annotations

import math

import pytest
import torch

from plait import losses
from plait.models import ColBERT

QUERIES = ["what do cats eat?", "how fast is a cheetah", "why is the sky blue"]
POSITIVES = [
    "Cats eat meat, fish and dry food.",
    "A cheetah runs up to 110 km/h!",
    "Rayleigh scattering.",
]
NEGATIVES = ["Dogs bark at night.", "Turtles are slow.", "The sea is deep, and salty."]
NEGATIVES_2 = ["Paris is in France.", "Bread needs flour", "Blue whales are big"]


@pytest.fixture
def model(tiny_model_path):
    """A fresh copy per test (training mutates it), in eval mode (no dropout)."""
    m = ColBERT(str(tiny_model_path), device="cpu")
    m.eval()
    return m


def features(model, *columns):
    return [model.tokenize(list(columns[0]), is_query=True)] + [
        model.tokenize(list(column), is_query=False) for column in columns[1:]
    ]


def loop_maxsim(q, q_keep, d, d_keep):
    """Sum over kept query tokens of the max dot product over kept document tokens."""
    total = 0.0
    for i in range(q.shape[0]):
        if not q_keep[i]:
            continue
        best = None
        for j in range(d.shape[0]):
            if d_keep[j]:
                value = float(torch.dot(q[i], d[j]))
                best = value if best is None else max(best, value)
        total += 0.0 if best is None else best
    return total


def embeddings_and_masks(model, feats):
    with torch.no_grad():
        embs = [model(dict(f))["token_embeddings"] for f in feats]
    q_keep = (
        torch.ones_like(feats[0]["attention_mask"], dtype=torch.bool)
        if model.do_query_expansion
        else feats[0]["attention_mask"].bool()
    )
    d_keeps = [f["attention_mask"].bool() & model.skiplist_mask(f["input_ids"]) for f in feats[1:]]
    return embs, q_keep, d_keeps


def expected_contrastive(model, feats, temperature=1.0):
    embs, q_keep, d_keeps = embeddings_and_masks(model, feats)
    n = embs[0].shape[0]
    total = 0.0
    for i in range(n):
        logits = []
        for column, keep in zip(embs[1:], d_keeps, strict=True):
            for j in range(column.shape[0]):
                logits.append(loop_maxsim(embs[0][i], q_keep[i], column[j], keep[j]) / temperature)
        top = max(logits)
        log_z = top + math.log(sum(math.exp(v - top) for v in logits))
        total += log_z - logits[i]  # the positive of query i is document i of the first column
    return total / n


@pytest.mark.parametrize("temperature", [1.0, 0.05])
def test_contrastive_matches_hand_computed(model, temperature):
    feats = features(model, QUERIES, POSITIVES, NEGATIVES, NEGATIVES_2)
    loss = losses.Contrastive(model=model, temperature=temperature)
    with torch.no_grad():
        value = loss(feats, None).item()
    assert value == pytest.approx(expected_contrastive(model, feats, temperature), rel=1e-5)


def test_contrastive_without_query_expansion_masks_query_padding(tiny_model_path):
    model = ColBERT(str(tiny_model_path), device="cpu", do_query_expansion=False)
    model.eval()
    feats = features(model, QUERIES, POSITIVES)
    assert not feats[0]["attention_mask"].all()  # queries of different lengths are padded
    with torch.no_grad():
        value = losses.Contrastive(model=model)(feats).item()
    assert value == pytest.approx(expected_contrastive(model, feats), rel=1e-5)


def test_contrastive_sum_is_mean_times_batch(model):
    feats = features(model, QUERIES, POSITIVES, NEGATIVES)
    with torch.no_grad():
        mean = losses.Contrastive(model=model)(feats).item()
        total = losses.Contrastive(model=model, size_average=False)(feats).item()
    assert total == pytest.approx(mean * len(QUERIES), rel=1e-5)


def test_contrastive_rejects_bad_input(model):
    loss = losses.Contrastive(model=model)
    with pytest.raises(ValueError, match="at least 1 document column"):
        loss(features(model, QUERIES))
    with pytest.raises(ValueError, match="one document per query"):
        loss(features(model, QUERIES, POSITIVES[:2]))
    with pytest.raises(ValueError, match="temperature"):
        losses.Contrastive(model=model, temperature=0.0)


def expected_distillation(model, feats, teacher, normalize=True):
    embs, q_keep, d_keeps = embeddings_and_masks(model, feats)
    n, ways = teacher.shape
    total = 0.0
    for i in range(n):
        student = [
            loop_maxsim(embs[0][i], q_keep[i], embs[1][i * ways + j], d_keeps[0][i * ways + j])
            for j in range(ways)
        ]
        if normalize:
            low, high = min(student), max(student)
            student = [(s - low) / (high - low + 1e-8) for s in student]
        t = teacher[i].tolist()
        p_t = [math.exp(v) / sum(math.exp(u) for u in t) for v in t]
        p_s = [math.exp(v) / sum(math.exp(u) for u in student) for v in student]
        total += sum(a * (math.log(a) - math.log(b)) for a, b in zip(p_t, p_s, strict=True))
    return total / n


@pytest.mark.parametrize("normalize", [True, pytest.param(False, marks=pytest.mark.slow)])
def test_distillation_matches_hand_computed(model, normalize):
    documents = [
        POSITIVES[0],
        NEGATIVES[0],
        NEGATIVES_2[0],
        POSITIVES[1],
        NEGATIVES[1],
        NEGATIVES_2[1],
    ]
    feats = features(model, QUERIES[:2], documents)
    teacher = torch.tensor([[3.0, 1.0, -2.0], [0.5, 2.5, 0.0]])
    loss = losses.Distillation(model=model, normalize_scores=normalize)
    with torch.no_grad():
        value = loss(feats, teacher).item()
    assert value == pytest.approx(expected_distillation(model, feats, teacher, normalize), rel=1e-5)


def test_distillation_rejects_mismatched_scores(model):
    feats = features(model, QUERIES[:2], POSITIVES[:2] + NEGATIVES[:2])
    loss = losses.Distillation(model=model)
    with pytest.raises(ValueError, match="expected 6"):
        loss(feats, torch.ones(2, 3))
    with pytest.raises(ValueError, match="teacher scores must have shape"):
        loss(feats, torch.ones(3, 2))
    with pytest.raises(ValueError, match="teacher scores"):
        loss(feats, None)


def _grads(model):
    return {
        name: p.grad.detach().clone() for name, p in model.named_parameters() if p.grad is not None
    }


@pytest.mark.parametrize(
    "mini_batch_size",
    [pytest.param(1, marks=pytest.mark.slow), 2, pytest.param(8, marks=pytest.mark.slow)],
)
def test_cached_contrastive_gives_contrastive_loss_and_gradients(model, mini_batch_size):
    feats = features(model, QUERIES, POSITIVES, NEGATIVES)
    model.zero_grad()
    reference = losses.Contrastive(model=model, temperature=0.5)(feats)
    reference.backward()
    expected = _grads(model)
    model.zero_grad()
    cached = losses.CachedContrastive(model=model, mini_batch_size=mini_batch_size, temperature=0.5)
    value = cached(feats)
    value.backward()
    got = _grads(model)
    assert value.item() == pytest.approx(reference.item(), rel=1e-5)
    assert expected.keys() == got.keys() and len(got) > 0
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], rtol=1e-4, atol=1e-6, msg=name)


@pytest.mark.slow
def test_cached_contrastive_replays_dropout(model):
    """In train mode (dropout on) the cached second pass replays the first pass's random state."""
    model.train()
    feats = features(model, QUERIES, POSITIVES, NEGATIVES)
    torch.manual_seed(7)
    model.zero_grad()
    reference = losses.Contrastive(model=model)(feats)
    reference.backward()
    expected = _grads(model)
    torch.manual_seed(7)
    model.zero_grad()
    value = losses.CachedContrastive(model=model, mini_batch_size=len(QUERIES))(feats)
    value.backward()
    assert value.item() == pytest.approx(reference.item(), rel=1e-5)
    for name, grad in _grads(model).items():
        torch.testing.assert_close(grad, expected[name], rtol=1e-4, atol=1e-6, msg=name)


def test_cached_contrastive_without_grad_returns_loss(model):
    feats = features(model, QUERIES, POSITIVES)
    with torch.no_grad():
        value = losses.CachedContrastive(model=model, mini_batch_size=2)(feats)
        reference = losses.Contrastive(model=model)(feats)
    assert value.item() == pytest.approx(reference.item(), rel=1e-5)


def teacher_vectors(rows, columns, dim=5, seed=0):
    """Random normalised teacher vectors: queries ``(rows, dim)`` and one table per column."""
    generator = torch.Generator().manual_seed(seed)
    tables = [torch.randn(rows, dim, generator=generator) for _ in range(columns + 1)]
    tables = [torch.nn.functional.normalize(t, dim=1) for t in tables]
    return tables[0], tables[1:]


def expected_teacher_contrastive(
    model,
    feats,
    query_vectors,
    document_vectors,
    rows,
    weight,
    scale,
    temperature=1.0,
    lexical=None,
    lexical_weight=0.0,
):
    embs, q_keep, d_keeps = embeddings_and_masks(model, feats)
    n = embs[0].shape[0]
    documents = [column[r] for column in document_vectors for r in rows]
    total = 0.0
    for i in range(n):
        student = [
            loop_maxsim(embs[0][i], q_keep[i], column[j], keep[j]) / temperature
            for column, keep in zip(embs[1:], d_keeps, strict=True)
            for j in range(column.shape[0])
        ]
        teacher = [scale * float(query_vectors[rows[i]] @ d) for d in documents]
        if lexical is not None:
            query = int(lexical.queries[rows[i]])
            words = [
                float(lexical.scores[query, int(column[r])])
                for column in lexical.documents
                for r in rows
            ]
            low, high, span = min(words), max(words), max(teacher) - min(teacher)
            if high > low:
                teacher = [
                    (1 - lexical_weight) * t + lexical_weight * (w - low) / (high - low) * span
                    for t, w in zip(teacher, words, strict=True)
                ]
        log_zs = math.log(sum(math.exp(v) for v in student))
        log_zt = math.log(sum(math.exp(v) for v in teacher))
        total += log_zs - student[i]
        total += weight * sum(
            math.exp(t - log_zt) * ((t - log_zt) - (s - log_zs))
            for t, s in zip(teacher, student, strict=True)
        )
    return total / n


@pytest.mark.parametrize(
    ("weight", "temperature"),
    [
        pytest.param(0.0, 1.0, marks=pytest.mark.slow),
        pytest.param(1.0, 1.0, marks=pytest.mark.slow),
        (0.5, 0.2),
    ],
)
def test_teacher_contrastive_matches_hand_computed(model, weight, temperature):
    feats = features(model, QUERIES, POSITIVES, NEGATIVES)
    query_vectors, document_vectors = teacher_vectors(5, 2)
    rows = [4, 0, 2]  # the batch's rows in the dataset: the loss looks the vectors up by row
    loss = losses.TeacherContrastive(
        model, query_vectors, document_vectors, weight=weight, scale=20.0, temperature=temperature
    )
    with torch.no_grad():
        value = loss(feats, torch.tensor(rows)).item()
    expected = expected_teacher_contrastive(
        model, feats, query_vectors, document_vectors, rows, weight, 20.0, temperature
    )
    assert value == pytest.approx(expected, rel=1e-5)
    if weight == 0.0:
        with torch.no_grad():
            plain = losses.Contrastive(model=model, temperature=temperature)(feats).item()
        assert value == pytest.approx(plain, rel=1e-6)


def lexical_scores(rows, columns, n_queries=3, n_documents=6, seed=1):
    """Random BM25-like scores (0 for about half the pairs) and random row -> text indices."""
    from plait.training.teacher import LexicalScores

    generator = torch.Generator().manual_seed(seed)
    scores = torch.rand(n_queries, n_documents, generator=generator) * 12
    scores[torch.rand(n_queries, n_documents, generator=generator) < 0.5] = 0.0
    scores[1] = 0.0  # a query sharing no word with any document: the dense logits stay
    queries = torch.randint(0, n_queries, (rows,), generator=generator)
    queries[0] = 1  # row 0 asks the query that shares no word
    documents = [
        torch.randint(0, n_documents, (rows,), generator=generator) for _ in range(columns)
    ]
    return LexicalScores(scores, queries, documents)


@pytest.mark.parametrize(
    "lexical_weight",
    [pytest.param(0.0, marks=pytest.mark.slow), 0.5, pytest.param(1.0, marks=pytest.mark.slow)],
)
def test_teacher_contrastive_with_lexical_scores_matches_hand_computed(model, lexical_weight):
    feats = features(model, QUERIES, POSITIVES, NEGATIVES)
    query_vectors, document_vectors = teacher_vectors(5, 2)
    lexical = lexical_scores(5, 2)
    rows = [4, 0, 2]
    loss = losses.TeacherContrastive(
        model, query_vectors, document_vectors, lexical=lexical, lexical_weight=lexical_weight
    )
    with torch.no_grad():
        value = loss(feats, torch.tensor(rows)).item()
    expected = expected_teacher_contrastive(
        model, feats, query_vectors, document_vectors, rows, 1.0, 20.0, 1.0, lexical, lexical_weight
    )
    assert value == pytest.approx(expected, rel=1e-5)
    if lexical_weight:
        dense_only = losses.TeacherContrastive(model, query_vectors, document_vectors)
        with torch.no_grad():
            assert dense_only(feats, torch.tensor(rows)).item() != pytest.approx(value, rel=1e-4)


def test_teacher_contrastive_rejects_bad_lexical_input(model):
    query_vectors, document_vectors = teacher_vectors(3, 2)
    with pytest.raises(ValueError, match="needs lexical scores"):
        losses.TeacherContrastive(model, query_vectors, document_vectors, lexical_weight=0.5)
    with pytest.raises(ValueError, match=r"lexical_weight must be in \[0, 1\]"):
        losses.TeacherContrastive(
            model, query_vectors, document_vectors, lexical=lexical_scores(3, 2), lexical_weight=2
        )
    with pytest.raises(ValueError, match="1 document columns, the teacher vectors 2"):
        losses.TeacherContrastive(
            model, query_vectors, document_vectors, lexical=lexical_scores(3, 1)
        )


def test_teacher_contrastive_rejects_bad_input(model):
    query_vectors, document_vectors = teacher_vectors(3, 2)
    feats = features(model, QUERIES, POSITIVES, NEGATIVES)
    loss = losses.TeacherContrastive(model, query_vectors, document_vectors)
    with pytest.raises(ValueError, match="label"):
        loss(feats, None)
    with pytest.raises(ValueError, match="out of range"):
        loss(feats, torch.tensor([0, 1, 3]))
    with pytest.raises(ValueError, match="2 document columns, the teacher vectors 1"):
        losses.TeacherContrastive(model, query_vectors, document_vectors[:1])(
            feats, torch.arange(3)
        )
    with pytest.raises(ValueError, match="shapes"):
        losses.TeacherContrastive(model, query_vectors[:2], document_vectors)
    with pytest.raises(ValueError, match="weight"):
        losses.TeacherContrastive(model, query_vectors, document_vectors, weight=-1.0)


@pytest.mark.parametrize(
    "name",
    [
        "contrastive",
        pytest.param("cached", marks=pytest.mark.slow),
        pytest.param("distillation", marks=pytest.mark.slow),
        pytest.param("teacher", marks=pytest.mark.slow),
    ],
)
def test_a_few_steps_lower_the_loss(model, name):
    torch.manual_seed(0)
    if name == "distillation":
        documents = [
            POSITIVES[0],
            NEGATIVES[0],
            POSITIVES[1],
            NEGATIVES[1],
            POSITIVES[2],
            NEGATIVES[2],
        ]
        feats = features(model, QUERIES, documents)
        labels = torch.tensor([[2.0, -1.0], [2.0, -1.0], [2.0, -1.0]])
        # with two candidates, min-max normalised scores are always (0, 1): no gradient
        loss = losses.Distillation(model=model, normalize_scores=False)
    elif name == "teacher":
        feats = features(model, QUERIES, POSITIVES, NEGATIVES)
        labels = torch.arange(3)
        loss = losses.TeacherContrastive(model, *teacher_vectors(3, 2), weight=1.0)
    else:
        feats = features(model, QUERIES, POSITIVES, NEGATIVES)
        labels = None
        loss = (
            losses.Contrastive(model=model)
            if name == "contrastive"
            else losses.CachedContrastive(model=model, mini_batch_size=2)
        )
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    values = []
    for _ in range(5):
        optimizer.zero_grad()
        value = loss(feats, labels)
        value.backward()
        optimizer.step()
        values.append(value.item())
    with torch.no_grad():
        final = loss(feats, labels).item()
    assert final < values[0] * 0.9, values + [final]


def test_gather_across_devices_is_a_no_op_in_one_process(model):
    feats = features(model, QUERIES, POSITIVES, NEGATIVES)
    with torch.no_grad():
        plain = losses.Contrastive(model=model)(feats).item()
        gathered = losses.Contrastive(model=model, gather_across_devices=True)(feats).item()
        cached = losses.CachedContrastive(model=model, gather_across_devices=True)(feats).item()
    assert gathered == pytest.approx(plain, rel=1e-6)
    assert cached == pytest.approx(plain, rel=1e-5)
