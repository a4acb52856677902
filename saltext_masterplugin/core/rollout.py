"""
Rollout planning for a fleet of salt-masters: pure functions, no I/O.

``batch`` and ``max_failures`` take a count (``2``) or a percentage (``"25%"``) of the masters
to update; the canary masters go first, alone, then the rest in batches, in name order.
"""
import math

from salt.exceptions import SaltInvocationError


def _count_or_percent(value, name, total, minimum):
    if isinstance(value, bool):
        raise SaltInvocationError(f"{name} must be a count or a percentage, not {value!r}")
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            percent = float(value.strip()[:-1])
        except ValueError as err:
            raise SaltInvocationError(f"{name}={value!r} is not a percentage") from err
        if not 0 <= percent <= 100:
            raise SaltInvocationError(f"{name}={value!r} must be between 0% and 100%")
        return max(minimum, math.floor(total * percent / 100))
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or value < 0:
        raise SaltInvocationError(
            f"{name} must be a count (e.g. 2) or a percentage (e.g. '25%'), not {value!r}"
        )
    return max(minimum, value)


def check_count_or_percent(value, name):
    """Validate ``value`` before any I/O (the total is not known yet)."""
    _count_or_percent(value, name, 100, 0)
    return value


def batch_size(value, total):
    """How many masters per batch (at least 1)."""
    return _count_or_percent(value, "batch", total, 1)


def failure_budget(value, total):
    """How many failures are tolerated before the rollout stops."""
    return _count_or_percent(value, "max_failures", total, 0)


def plan_groups(masters, canary, batch):
    """
    ``[[canary...], [batch 1...], ...]``: the masters to update, in name order, canary first.
    An empty canary group is left out.
    """
    ordered = sorted(masters)
    if not isinstance(canary, int) or isinstance(canary, bool) or canary < 0:
        raise SaltInvocationError(f"canary must be a count (0 or more), not {canary!r}")
    groups = []
    if canary and ordered:
        groups.append(ordered[:canary])
        ordered = ordered[canary:]
    size = batch_size(batch, len(ordered) + sum(len(g) for g in groups))
    for start in range(0, len(ordered), size):
        groups.append(ordered[start : start + size])
    return groups
