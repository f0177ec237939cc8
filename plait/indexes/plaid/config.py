"""How a PLAID index is built and searched by default: one settings object, saved with the index.

:class:`PLAIDConfig` holds the codebook's training settings under PyLate's names (``nbits``,
``n_centroids``, ``kmeans_niters``, ``max_points_per_centroid``, ``n_samples_kmeans``, ``seed``)
and the search defaults (``ncells``, ``centroid_score_threshold``, ``ndocs``, ``n_full_scores``;
``None`` = chosen from ``k``). :class:`~plait.indexes.plaid.index.PLAID`, the sharded index and
:meth:`~plait.indexes.plaid.codebook.Codebook.train` take the same names; the index writes its
config into the manifest (``settings.config``), so reopening it, re-training it
(:meth:`PLAID.retrain`) or rebuilding it elsewhere uses the settings it was built with. Arguments
given to the constructor of an existing index override the stored ones for this object (and are
saved by its next write); arguments left out keep the stored values.

>>> config = PLAIDConfig(nbits=4, kmeans_niters=8)
>>> config.updated(seed=3).seed, PLAIDConfig.from_manifest(config.to_manifest()) == config
(3, True)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any

from plait.indexes.plaid.codec import check_nbits
from plait.indexes.plaid.search import PLAIDSearchParams

__all__ = ["ConfiguredIndex", "PLAIDConfig", "TRAINING_KEYS", "SEARCH_KEYS"]

TRAINING_KEYS = (
    "nbits",
    "n_centroids",
    "kmeans_niters",
    "max_points_per_centroid",
    "n_samples_kmeans",
    "seed",
)
SEARCH_KEYS = ("ncells", "centroid_score_threshold", "ndocs", "n_full_scores")


def _positive(name: str, value: Any, minimum: int = 1) -> None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or value < minimum
    ):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


@dataclass(frozen=True)
class PLAIDConfig:
    """Training settings and search defaults of a PLAID index (see the module docstring)."""

    nbits: int = 2
    n_centroids: int | None = None
    kmeans_niters: int = 4
    max_points_per_centroid: int = 256
    n_samples_kmeans: int | None = None
    seed: int = 0
    ncells: int | None = None
    centroid_score_threshold: float | None = None
    ndocs: int | None = None
    n_full_scores: int | None = None

    def __post_init__(self) -> None:
        check_nbits(self.nbits)
        _positive("n_centroids", self.n_centroids)
        _positive("kmeans_niters", self.kmeans_niters, minimum=0)
        _positive("max_points_per_centroid", self.max_points_per_centroid)
        _positive("n_samples_kmeans", self.n_samples_kmeans)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")
        self.search  # noqa: B018  (validates the search defaults)

    @property
    def search(self) -> PLAIDSearchParams:
        """The search defaults as the search's parameter object."""
        return PLAIDSearchParams(
            self.ncells, self.centroid_score_threshold, self.ndocs, self.n_full_scores
        )

    def training(self) -> dict[str, Any]:
        """Return the training settings as keyword arguments of :meth:`Codebook.train`."""
        return {key: getattr(self, key) for key in TRAINING_KEYS}

    def updated(self, **changes: Any) -> PLAIDConfig:
        """Return a copy with ``changes`` (``None`` values mean "keep"); unknown names raise."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise TypeError(f"unknown PLAID settings {unknown}; known: {sorted(known)}")
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_manifest(self) -> dict[str, Any]:
        """Return the settings as the plain dict the manifest stores (``settings.config``)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_manifest(cls, stored: Any, where: Any = "manifest") -> PLAIDConfig:
        """Return the config a manifest stores.

        ``None`` (an index written before configs were saved) gets the defaults; unknown keys are
        ignored. A damaged entry raises ``ValueError`` naming ``where``.
        """
        if stored is None:
            return cls()
        if not isinstance(stored, dict):
            raise ValueError(f"{where}: 'settings.config' is not an object")
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in stored.items() if k in known})
        except (TypeError, ValueError) as error:
            raise ValueError(f"{where}: 'settings.config' is invalid: {error}") from None


class ConfiguredIndex:
    """What PLAID and the sharded index share about settings.

    The settings given to the constructor (:meth:`_take_settings`; they win over the stored config
    for this object) and the resulting :attr:`config` and :attr:`default_params`.
    """

    _config: PLAIDConfig
    _given: dict[str, Any]

    def _take_settings(self, **given: Any) -> None:
        """Record the constructor's settings (``None`` = "the stored value") and check them now."""
        self._given = given
        self._config = PLAIDConfig().updated(**given)

    @property
    def config(self) -> PLAIDConfig:
        """Training settings and search defaults (saved in the manifest with every write)."""
        return self._config

    @property
    def default_params(self) -> PLAIDSearchParams:
        """Search defaults of this index (``config``'s; ``None`` fields are chosen from ``k``)."""
        return self._config.search
