"""Contrastive loss with gradient caching (GradCache, Gao et al. 2021).

PyLate calls it ``losses.CachedContrastive``.

A large batch gives many in-batch negatives but its activations do not fit in memory. GradCache
computes the same loss and the same gradients as :class:`~plait.losses.Contrastive` in three steps:

1. embed every column in mini-batches without building a graph (only the embeddings are kept);
2. compute the loss on those embeddings and backpropagate to them: this caches ``dLoss/dE``;
3. when the trainer calls ``loss.backward()``, re-embed each mini-batch with a graph and
   backpropagate ``dot(E, dLoss/dE)``, one mini-batch at a time.

Peak activation memory is one mini-batch, whatever the batch size. The second pass replays the first
one's random state, so dropout masks match and the cached gradients belong to the embeddings they are
applied to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from functools import partial
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from plait.losses.common import (
    check_temperature,
    documents_mask,
    embed,
    queries_mask,
    split_features,
)
from plait.losses.contrastive import contrastive_objective
from plait.scores import colbert_scores


class RandContext:
    """Snapshot the RNG state now; ``with ctx:`` replays it and restores the outer state after."""

    def __init__(self, *tensors: Tensor) -> None:
        from torch.utils.checkpoint import get_device_states

        self.cpu_state = torch.get_rng_state()
        self.devices, self.device_states = get_device_states(*tensors)
        self._fork: Any = None

    def __enter__(self) -> None:
        from torch.utils.checkpoint import set_device_states

        self._fork = torch.random.fork_rng(devices=self.devices, enabled=True)
        self._fork.__enter__()
        torch.set_rng_state(self.cpu_state)
        set_device_states(self.devices, self.device_states)

    def __exit__(self, *exc: object) -> None:
        self._fork.__exit__(*exc)
        self._fork = None


def _slice(feature: dict[str, Any], begin: int, end: int) -> dict[str, Any]:
    return {
        key: value[begin:end] if isinstance(value, Tensor) else value
        for key, value in feature.items()
    }


class CachedContrastive(nn.Module):
    """:class:`~plait.losses.Contrastive` with gradient caching.

    Same loss, same gradients, memory of one ``mini_batch_size`` forward pass. Use it to train with
    large batches on a CPU.

    Parameters
    ----------
    model
        A :class:`plait.models.ColBERT`.
    score_metric
        As in :class:`~plait.losses.Contrastive`.
    mini_batch_size
        Texts embedded at once (bounds activation memory).
    size_average
        Mean over the queries (``True``) or sum.
    gather_across_devices
        Use other processes' documents as negatives (``torch.distributed``).
    show_progress_bar
        Show a bar over the mini-batches.
    temperature
        Scores are divided by it before the softmax.
    """

    def __init__(
        self,
        model: nn.Module,
        score_metric: Callable[..., Tensor] = colbert_scores,
        mini_batch_size: int = 32,
        size_average: bool = True,
        gather_across_devices: bool = False,
        show_progress_bar: bool = False,
        temperature: float = 1.0,
    ) -> None:
        super().__init__()
        if mini_batch_size < 1:
            raise ValueError(f"mini_batch_size must be >= 1, got {mini_batch_size}")
        self.model = model
        self.score_metric = score_metric
        self.mini_batch_size = mini_batch_size
        self.size_average = size_average
        self.gather_across_devices = gather_across_devices
        self.show_progress_bar = show_progress_bar
        self.temperature = check_temperature(temperature)

    def _chunks(self, feature: dict[str, Any]) -> Iterator[tuple[int, int]]:
        size = feature["input_ids"].size(0)
        starts = range(0, size, self.mini_batch_size)
        bar = tqdm(starts, desc="Embed mini-batches", disable=not self.show_progress_bar)
        for begin in bar:
            yield begin, min(begin + self.mini_batch_size, size)

    def _embed_without_grad(
        self, feature: dict[str, Any]
    ) -> tuple[list[Tensor], list[RandContext]]:
        """Step 1: embeddings per mini-batch as grad-requiring leaves, plus their RNG states."""
        chunks, states = [], []
        for begin, end in self._chunks(feature):
            part = _slice(feature, begin, end)
            states.append(RandContext(*[v for v in part.values() if isinstance(v, Tensor)]))
            with torch.no_grad():
                chunks.append(embed(self.model, part).detach().requires_grad_())
        return chunks, states

    def _loss(self, reps: list[list[Tensor]], masks: list[Tensor], q_mask: Tensor | None) -> Tensor:
        return contrastive_objective(
            self.score_metric,
            torch.cat(reps[0]),
            q_mask,
            [torch.cat(chunks) for chunks in reps[1:]],
            masks,
            temperature=self.temperature,
            size_average=self.size_average,
            gather_across_devices=self.gather_across_devices,
        )

    def forward(
        self, sentence_features: Sequence[dict[str, Any]], labels: Tensor | None = None
    ) -> Tensor:
        """Loss for one batch. With autograd on, ``loss.backward()`` runs step 3."""
        query_features, document_features = split_features(sentence_features)
        columns = [query_features, *document_features]
        embedded = [self._embed_without_grad(feature) for feature in columns]
        reps = [chunks for chunks, _ in embedded]
        masks = [documents_mask(self.model, feature) for feature in document_features]
        q_mask = queries_mask(self.model, query_features)
        if not torch.is_grad_enabled():
            return self._loss(reps, masks, q_mask).detach()
        with torch.enable_grad():
            loss = self._loss(reps, masks, q_mask)
            loss.backward()  # step 2: dLoss/dE into each leaf's .grad
        cache = [[chunk.grad for chunk in chunks] for chunks in reps]
        states = [chunk_states for _, chunk_states in embedded]
        loss = loss.detach().requires_grad_()
        loss.register_hook(
            partial(self._backward_hook, columns=columns, cache=cache, states=states)
        )
        return loss

    def _backward_hook(
        self,
        grad_output: Tensor,
        columns: list[dict[str, Any]],
        cache: list[list[Tensor | None]],
        states: list[list[RandContext]],
    ) -> None:
        """Step 3: re-embed each mini-batch with a graph and push the cached gradients through."""
        with torch.enable_grad():
            for feature, grads, column_states in zip(columns, cache, states, strict=True):
                for (begin, end), grad, state in zip(
                    self._chunks(feature), grads, column_states, strict=True
                ):
                    if grad is None:  # the column did not reach the loss
                        continue
                    with state if state is not None else nullcontext():
                        chunk = embed(self.model, _slice(feature, begin, end))
                    surrogate = torch.dot(chunk.flatten(), grad.flatten()) * grad_output
                    surrogate.backward()

    def get_config_dict(self) -> dict[str, Any]:
        """Return the settings shown in the model card."""
        return {
            "mini_batch_size": self.mini_batch_size,
            "size_average": self.size_average,
            "gather_across_devices": self.gather_across_devices,
            "temperature": self.temperature,
        }
