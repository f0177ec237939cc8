"""Token-level linear projection, saved in PyLate's ``Dense`` layout.

A checkpoint written by PyLate names this module ``pylate.models.Dense.Dense`` in
``modules.json`` and stores ``config.json`` (``in_features``, ``out_features``, ``bias``,
``activation_function``, ``use_residual``) plus ``model.safetensors`` (``linear.weight``).
:class:`Dense` reads and writes exactly that, so folders round-trip between plait and PyLate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from sentence_transformers.base.modules.dense import Dense as _STDense
from torch import Tensor, nn

#: The class reference PyLate writes into ``modules.json`` for its projection.
PYLATE_DENSE_REF = "pylate.models.Dense.Dense"


class Dense(_STDense):
    """Projects every token embedding: ``features["token_embeddings"]`` ``(B, L, in)`` -> ``(B, L, out)``.

    Parameters
    ----------
    in_features
        Hidden size of the encoder.
    out_features
        ColBERT embedding size.
    bias
        Whether the linear layer has a bias (PyLate: ``False``).
    activation_function
        Applied after the linear layer; ``None`` means identity (PyLate's default).
    use_residual
        Add a (projected) residual connection, as in sentence-transformers' Dense.

    Examples
    --------
    >>> import torch
    >>> layer = Dense(8, 4)
    >>> layer({"token_embeddings": torch.zeros(2, 3, 8)})["token_embeddings"].shape
    torch.Size([2, 3, 4])
    """

    config_keys: list[str] = [
        "in_features",
        "out_features",
        "bias",
        "activation_function",
        "use_residual",
    ]
    _DEFAULT_CONFIG_VALUES: dict[str, bool] = {}  # always write use_residual, as PyLate does

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = False,
        activation_function: Callable[[Tensor], Tensor] | None = None,
        init_weight: Tensor | None = None,
        init_bias: Tensor | None = None,
        use_residual: bool = False,
    ) -> None:
        super().__init__(
            in_features,
            out_features,
            bias=bias,
            activation_function=activation_function
            if activation_function is not None
            else nn.Identity(),
            init_weight=init_weight,
            init_bias=init_bias,
            module_input_name="token_embeddings",
            module_output_name="token_embeddings",
            use_residual=use_residual,
        )

    @classmethod
    def fresh(cls, in_features: int, out_features: int, seed: int = 0) -> Dense:
        """Return a new projection whose weights depend only on ``seed``.

        The global RNG is left untouched.
        """
        generator = torch.Generator().manual_seed(seed)
        bound = 1.0 / in_features**0.5  # nn.Linear's default (kaiming-uniform) range
        weight = (torch.rand(out_features, in_features, generator=generator) * 2 - 1) * bound
        return cls(in_features, out_features, init_weight=weight)

    def get_config_dict(self) -> dict[str, Any]:
        """Return the PyLate-compatible config (no module input and output names)."""
        config = super().get_config_dict()
        return {key: config[key] for key in self.config_keys if key in config}
