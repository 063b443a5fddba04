"""Flower strategies by name, the optional server-side DP wrapper, and a byte counter."""

from __future__ import annotations

import math
from typing import Any, Iterable

from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord
from flwr.serverapp import Grid
from flwr.serverapp.strategy import (
    DifferentialPrivacyServerSideFixedClipping,
    FedAdam,
    FedAvg,
    FedProx,
    Strategy,
)

from benchmarks.config.federated import FederatedConfig


def _arrays_bytes(msg: Message) -> int:
    return sum(rec.count_bytes() for rec in msg.content.array_records.values())


class CountingStrategy(Strategy):
    """Wraps a strategy; counts model bytes sent down (server -> clients) and up per round."""

    def __init__(self, inner: Strategy):
        self.inner = inner
        self.down: dict[int, int] = {}
        self.up: dict[int, int] = {}

    def _count(self, book: dict[int, int], rnd: int, msgs: Iterable[Message]) -> list[Message]:
        msgs = list(msgs)
        book[rnd] = book.get(rnd, 0) + sum(_arrays_bytes(m) for m in msgs if not m.has_error())
        return msgs

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                        grid: Grid) -> Iterable[Message]:
        return self._count(self.down, server_round,
                           self.inner.configure_train(server_round, arrays, config, grid))

    def aggregate_train(self, server_round: int, replies: Iterable[Message]
                        ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        return self.inner.aggregate_train(server_round, self._count(self.up, server_round, replies))

    def configure_evaluate(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                           grid: Grid) -> Iterable[Message]:
        return self._count(self.down, server_round,
                           self.inner.configure_evaluate(server_round, arrays, config, grid))

    def aggregate_evaluate(self, server_round: int, replies: Iterable[Message]) -> MetricRecord | None:
        return self.inner.aggregate_evaluate(server_round, self._count(self.up, server_round, replies))

    def summary(self) -> None:
        self.inner.summary()


def sampled_clients(fed: FederatedConfig) -> int:
    """Clients sampled for training each round."""
    return max(1, math.ceil(fed.fraction_fit * fed.clients))


def make_strategy(fed: FederatedConfig) -> Strategy:
    """The named Flower strategy (all clients must connect; ``fraction_fit`` of them train)."""
    common: dict[str, Any] = dict(fraction_train=fed.fraction_fit, fraction_evaluate=1.0,
                                  min_train_nodes=sampled_clients(fed), min_evaluate_nodes=fed.clients,
                                  min_available_nodes=fed.clients)
    if fed.strategy == "fedprox":
        strategy: Strategy = FedProx(**common, proximal_mu=fed.proximal_mu)
    elif fed.strategy == "fedadam":
        strategy = FedAdam(**common, eta=fed.server_lr)
    else:
        strategy = FedAvg(**common)
    if fed.dp_noise is not None:
        strategy = DifferentialPrivacyServerSideFixedClipping(
            strategy, noise_multiplier=fed.dp_noise, clipping_norm=fed.dp_clip,
            num_sampled_clients=sampled_clients(fed))
    return strategy


def privacy_statement(strategy: Strategy, fed: FederatedConfig) -> dict[str, Any] | None:
    """Noise, clipping and what Flower reports about the privacy spent (None without DP)."""
    if fed.dp_noise is None:
        return None
    spent = strategy.privacy_spent() if hasattr(strategy, "privacy_spent") else None
    out: dict[str, Any] = {
        "mechanism": repr(strategy),
        "noise_multiplier": fed.dp_noise,
        "clipping_norm": fed.dp_clip,
        "num_sampled_clients": sampled_clients(fed),
        "releases": fed.rounds,
        "noise_stdev": fed.dp_noise * fed.dp_clip / sampled_clients(fed),
    }
    if spent is None:
        out["statement"] = (f"central DP, server-side fixed clipping: clip {fed.dp_clip:g}, "
                            f"Gaussian noise multiplier {fed.dp_noise:g} over {sampled_clients(fed)} "
                            f"clients, {fed.rounds} rounds; Flower reported no epsilon (no privacy "
                            "accountant configured)")
    else:
        out.update(epsilon=spent.epsilon, delta=spent.delta, accounting=spent.accounting_method)
        out["statement"] = (f"epsilon={spent.epsilon:.6f} at delta={spent.delta:g} after "
                            f"{spent.num_releases} releases ({spent.accounting_method})")
    return out
