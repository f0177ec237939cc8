"""Shard backends: in-process workers (no Ray) and one Ray actor per shard.

Both implement :class:`plait.distributed.search.ShardCaller`: ``call(method, {shard: args})`` runs a
:class:`~plait.distributed.worker.ShardWorker` method on several shards at once and returns, per
shard, the result or a :class:`~plait.distributed.search.ShardUnavailableError` (the worker raised,
its actor died, or it did not answer within ``timeout_s``). Input errors raised by a shard
(:class:`~plait.indexes.base.IndexInputError`) are returned as they are. Ray is imported only when a
:class:`RayShards` is created.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from plait.distributed.search import ShardUnavailableError
from plait.distributed.worker import ShardWorker
from plait.indexes.base import IndexInputError
from plait.indexes.plaid import Codebook


def require_ray() -> Any:
    """Import and return ``ray``; without it raise a :class:`~plait.extras.MissingExtraError`.

    The error names the pip command that installs the ``ray`` extra.
    """
    from plait.extras import require_extra

    require_extra("ray", "sharded search on Ray")
    import ray

    return ray


def _failure(name: str, error: BaseException) -> BaseException:
    if isinstance(error, IndexInputError):
        return error
    failure = ShardUnavailableError(name, f"{type(error).__name__}: {error}")
    failure.__cause__ = error
    return failure


class LocalShards:
    """Every shard's worker in this process, called one after the other (tests, small indexes)."""

    def __init__(
        self,
        folder: str | os.PathLike[str],
        names: list[str],
        codebook: Codebook | None,
        nbits: int,
        *,
        worker_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.names = list(names)
        self.workers = [
            ShardWorker(folder, name, codebook, nbits=nbits, **dict(worker_options or {}))
            for name in names
        ]

    def call(self, method: str, args: dict[int, tuple[Any, ...]]) -> dict[int, Any]:
        """Call ``method`` on each shard in ``args`` with its arguments; return the answers.

        A shard's failure is its answer: an :class:`IndexInputError` as raised, anything else as a
        :class:`ShardUnavailableError`.
        """
        out: dict[int, Any] = {}
        for shard, shard_args in args.items():
            try:
                out[shard] = getattr(self.workers[shard], method)(*shard_args)
            except Exception as error:  # reported per shard; the caller raises or marks partial
                out[shard] = _failure(self.names[shard], error)
        return out

    def close(self) -> None:
        """Drop the workers (their shard files are closed with them)."""
        self.workers = []


class RayShards:
    """One Ray actor per shard, each opening (memory-mapping) its shard folder.

    ``address``: a running cluster to join (``"auto"`` or ``"ray://host:10001"``); when Ray is not
    initialised and no address is given, a local cluster is started. ``timeout_s`` bounds every call
    (a shard that does not answer in time is reported unavailable; nothing waits forever);
    ``start_timeout_s`` bounds starting the actors and opening the shards.
    ``actor_options`` go to ``ActorClass.options`` (default ``num_cpus=0``: actors reserve no CPU, so
    any number of shards fit a small cluster; give real numbers, e.g. ``{"num_cpus": 4}``, on a real
    one). ``worker_options`` go to :class:`~plait.distributed.worker.ShardWorker`.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        names: list[str],
        codebook: Codebook | None,
        nbits: int,
        *,
        address: str | None = None,
        timeout_s: float = 60.0,
        start_timeout_s: float = 300.0,
        actor_options: Mapping[str, Any] | None = None,
        worker_options: Mapping[str, Any] | None = None,
    ) -> None:
        ray = require_ray()
        if not ray.is_initialized():
            ray.init(address=address, log_to_driver=False, configure_logging=False)
        self.ray = ray
        self.names = list(names)
        self.timeout_s = float(timeout_s)
        options = {"num_cpus": 0, **dict(actor_options or {})}
        actor_class = ray.remote(ShardWorker).options(**options)
        folder = os.path.abspath(os.fspath(folder))
        self.actors = [
            actor_class.remote(folder, name, codebook, nbits=nbits, **dict(worker_options or {}))
            for name in names
        ]
        started = self.call("ping", {s: () for s in range(len(names))}, timeout_s=start_timeout_s)
        failed = [answer for answer in started.values() if isinstance(answer, BaseException)]
        if failed:
            self.close()
            raise failed[0]

    def call(
        self, method: str, args: dict[int, tuple[Any, ...]], timeout_s: float | None = None
    ) -> dict[int, Any]:
        """Call ``method`` on each shard's actor in ``args`` at once; return the answers.

        A shard that does not answer within ``timeout_s`` (default: the constructor's), whose actor
        died, or which failed, answers a :class:`ShardUnavailableError`; an
        :class:`IndexInputError` it raised is its answer as raised.
        """
        ray = self.ray
        timeout = self.timeout_s if timeout_s is None else timeout_s
        refs = {shard: getattr(self.actors[shard], method).remote(*a) for shard, a in args.items()}
        ready, _ = ray.wait(list(refs.values()), num_returns=len(refs), timeout=timeout)
        done = set(ready)
        out: dict[int, Any] = {}
        for shard, ref in refs.items():
            name = self.names[shard]
            if ref not in done:
                out[shard] = ShardUnavailableError(
                    name, f"no answer to {method} within {timeout:g} s"
                )
                continue
            try:
                out[shard] = ray.get(ref)
            except ray.exceptions.RayActorError as error:
                failure = ShardUnavailableError(name, f"its actor died ({type(error).__name__})")
                failure.__cause__ = error
                out[shard] = failure
            except ray.exceptions.RayTaskError as error:
                out[shard] = _failure(name, getattr(error, "cause", None) or error)
            except Exception as error:  # e.g. the object was lost with its node
                out[shard] = _failure(name, error)
        return out

    def close(self) -> None:
        """Stop the actors (the cluster itself keeps running)."""
        for actor in getattr(self, "actors", []):
            try:
                self.ray.kill(actor)
            except Exception:  # pragma: no cover - already gone
                pass
        self.actors = []
