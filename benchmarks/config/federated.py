"""Federated-run settings as data, parsed and checked before anything heavy is imported."""

from __future__ import annotations

import math
from dataclasses import dataclass

from benchmarks.core.errors import OncobenchError

STRATEGIES = ("fedavg", "fedprox", "fedadam")
CENTRAL = "central"  # in --federated lists: the centralised run, side by side


@dataclass(frozen=True)
class FederatedConfig:
    """One federated way to train: strategy, clients, partition, rounds, optional DP."""

    strategy: str = "fedavg"
    clients: int = 5
    partition: str = "iid"  # iid | dirichlet:ALPHA | by-column:COL
    rounds: int = 10
    local_epochs: int = 1
    fraction_fit: float = 1.0
    proximal_mu: float = 0.1  # FedProx only
    server_lr: float = 0.01  # FedAdam's eta
    dp_noise: float | None = None
    dp_clip: float | None = None

    def label(self) -> str:
        """Short human label, e.g. ``fedavg (5 clients, dirichlet 0.5)``."""
        kind, _, arg = self.partition.partition(":")
        part = f"{kind} {arg}" if arg else kind
        dp = f", DP σ={self.dp_noise:g} C={self.dp_clip:g}" if self.dp_noise is not None else ""
        return f"{self.strategy} ({self.clients} clients, {part}{dp})"

    def tag(self) -> str:
        """A key-safe tag of the settings that change results (used in record keys)."""
        tag = f"{self.strategy}-k{self.clients}-{self.partition}-r{self.rounds}-e{self.local_epochs}"
        if self.fraction_fit != 1.0:
            tag += f"-f{self.fraction_fit:g}"
        if self.dp_noise is not None:
            tag += f"-dp{self.dp_noise:g}x{self.dp_clip:g}"
        return tag.replace("|", "_")


def parse_partition(text: str) -> tuple[str, float | str | None]:
    """``iid`` | ``dirichlet:ALPHA`` | ``by-column:COL`` -> (kind, argument)."""
    kind, colon, arg = text.partition(":")
    if kind == "iid" and not colon:
        return "iid", None
    if kind == "dirichlet":
        try:
            alpha = float(arg)
        except ValueError:
            alpha = float("nan")
        if not (math.isfinite(alpha) and alpha > 0):
            raise OncobenchError(f"--partition {text!r}: ALPHA must be a number > 0, e.g. dirichlet:0.5")
        return "dirichlet", alpha
    if kind == "by-column" and arg:
        return "by-column", arg
    raise OncobenchError(f"--partition {text!r}: expected iid, dirichlet:ALPHA (e.g. dirichlet:0.5) "
                         "or by-column:COLUMN")


def validate_federated(fed: FederatedConfig) -> FederatedConfig:
    """Reject impossible federated settings with a one-line message naming the flag."""
    if fed.strategy not in STRATEGIES:
        raise OncobenchError(f"--federated {fed.strategy!r}: valid: {', '.join((CENTRAL, *STRATEGIES))}")
    for flag, value in (("--clients", fed.clients), ("--rounds", fed.rounds),
                        ("--local-epochs", fed.local_epochs)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise OncobenchError(f"{flag} {value}: must be an integer of at least 1")
    if fed.clients < 2:
        raise OncobenchError(f"--clients {fed.clients}: federated training needs at least 2 clients")
    if not (0 < fed.fraction_fit <= 1):
        raise OncobenchError(f"--fraction-fit {fed.fraction_fit}: must be in (0, 1]")
    parse_partition(fed.partition)
    if (fed.dp_noise is None) != (fed.dp_clip is None):
        raise OncobenchError("--dp-noise and --dp-clip go together, e.g. --dp-noise 0.5 --dp-clip 1.0")
    if fed.dp_noise is not None:
        if not (math.isfinite(fed.dp_noise) and fed.dp_noise >= 0):
            raise OncobenchError(f"--dp-noise {fed.dp_noise}: must be a finite number >= 0")
        if not (math.isfinite(fed.dp_clip) and fed.dp_clip > 0):
            raise OncobenchError(f"--dp-clip {fed.dp_clip}: must be a finite number > 0")
    return fed
