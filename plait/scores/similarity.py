"""PyLate's ``SimilarityFunction``: the names a ColBERT model's ``similarity_fn_name`` may take."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any

import torch


class SimilarityFunction(Enum):
    """The similarity functions of late-interaction models: only MaxSim (``"MaxSim"``).

    Examples
    --------
    >>> SimilarityFunction("MaxSim") is SimilarityFunction.MAXSIM
    True
    >>> SimilarityFunction.possible_values()
    ['MaxSim']
    """

    MAXSIM = "MaxSim"

    @staticmethod
    def to_similarity_fn(
        similarity_function: str | SimilarityFunction,
    ) -> Callable[..., torch.Tensor]:
        """Return the all-pairs score function of ``similarity_function``.

        Parameters
        ----------
        similarity_function
            ``"MaxSim"`` or :attr:`SimilarityFunction.MAXSIM`.

        Returns
        -------
        Callable
            :func:`plait.scores.colbert_scores`.

        Raises
        ------
        ValueError
            Any other name.
        """
        from plait.scores.colbert import colbert_scores

        SimilarityFunction.parse(similarity_function)
        return colbert_scores

    @staticmethod
    def to_similarity_pairwise_fn(
        similarity_function: str | SimilarityFunction,
    ) -> Callable[..., torch.Tensor]:
        """Return the pairwise (``a[i]`` with ``b[i]``) score function of ``similarity_function``.

        Parameters
        ----------
        similarity_function
            ``"MaxSim"`` or :attr:`SimilarityFunction.MAXSIM`.

        Returns
        -------
        Callable
            :func:`plait.scores.colbert_scores_pairwise`.

        Raises
        ------
        ValueError
            Any other name.
        """
        from plait.scores.colbert import colbert_scores_pairwise

        SimilarityFunction.parse(similarity_function)
        return colbert_scores_pairwise

    @staticmethod
    def possible_values() -> list[str]:
        """Return the accepted names (``["MaxSim"]``)."""
        return [member.value for member in SimilarityFunction]

    @staticmethod
    def parse(value: Any) -> SimilarityFunction:
        """Return the member named by ``value`` (a member or its name).

        Parameters
        ----------
        value
            ``"MaxSim"`` or :attr:`SimilarityFunction.MAXSIM`.

        Returns
        -------
        SimilarityFunction
            The member.

        Raises
        ------
        ValueError
            Any other value (the message lists the accepted names).
        """
        try:
            return SimilarityFunction(value)
        except ValueError:
            raise ValueError(
                f"similarity function {value!r} is not supported by late-interaction models; "
                f"use one of {SimilarityFunction.possible_values()}"
            ) from None
