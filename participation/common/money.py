"""Money to the fen: splitting an amount in proportion to weights, summing exactly."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

FEN = Decimal("0.01")


class NothingToShare(ValueError):
    """Every weight is zero: no proportion to split by."""


def allocate(amount: Decimal, weights: dict[int, Decimal]) -> dict[int, Decimal]:
    """Split ``amount`` (yuan, to the fen) in proportion to ``weights``, to the fen.

    Largest-remainder method, exact (integers): each key first gets the whole fen of its
    exact share; the fen left over go one each to the largest remainders, ties broken by the
    smaller key. So the shares sum exactly to ``amount``, each is within one fen of its exact
    value, and a zero weight gets 0.00. Raises :class:`NothingToShare` when no weight is
    positive and ``ValueError`` for a negative weight or an amount not in whole fen.
    """
    if amount < 0 or amount != amount.quantize(FEN):
        raise ValueError(f"amount must be a non-negative sum in whole fen, not {amount}")
    exact = {key: Fraction(weight) for key, weight in weights.items()}
    if any(weight < 0 for weight in exact.values()):
        raise ValueError("weights must not be negative")
    scale = math.lcm(*(weight.denominator for weight in exact.values()))
    integral = {key: int(weight * scale) for key, weight in exact.items()}  # same proportions
    total = sum(integral.values())
    if total == 0:
        raise NothingToShare("no positive weight")
    fen = int(amount / FEN)
    shares, remainders = {}, {}
    for key, weight in integral.items():
        shares[key], remainders[key] = divmod(fen * weight, total)
    left = fen - sum(shares.values())
    for key in sorted(integral, key=lambda key: (-remainders[key], key))[:left]:
        shares[key] += 1
    return {key: Decimal(share).scaleb(-2) for key, share in shares.items()}


# The plan ---------------------------------------------------------------------------------
