"""Which changes between two policies let more through, so the signer can ask before applying."""

from __future__ import annotations

from decimal import Decimal

from bastion.custody.policy.config import PolicyConfig, QuoteLimits

__all__ = ["loosening"]


def _num(value: Decimal) -> str:
    return format(value, "f")


def _limit_changes(quote: str, old: QuoteLimits, new: QuoteLimits) -> list[str]:
    changes = []
    for name in ("max_order_notional", "max_daily_notional"):
        before, after = getattr(old, name), getattr(new, name)
        if after > before:
            changes.append(f"{name} ({quote}): {_num(before)} -> {_num(after)} {quote}, higher")
    if new.min_volume_24h < old.min_volume_24h:
        changes.append(
            f"min_volume_24h ({quote}): {_num(old.min_volume_24h)} -> {_num(new.min_volume_24h)} "
            f"{quote}, lower"
        )
    return changes


def loosening(old: PolicyConfig, new: PolicyConfig) -> list[str]:
    """List the changes from ``old`` to ``new`` that would let more orders through.

    Added pairs, a quote currency given limits, higher notional limits, a lower minimum volume,
    a higher deviation, more orders per minute, an older reference accepted, a larger or
    shorter denial burst, and a state closer to ACTIVE. Tightening changes are not listed. An
    empty list means ``new`` allows nothing that ``old`` would deny, given the same history.

    Parameters
    ----------
    old
        The policy in force.
    new
        The policy proposed.

    Returns
    -------
    list[str]
        One human-readable line per loosening change, in a stable order, each starting with
        the field name; empty when nothing loosens.
    """
    changes: list[str] = []
    added = sorted(set(new.pairs) - set(old.pairs))
    if added:
        changes.append(f"pairs: added {', '.join(added)}")
    old_limits, new_limits = old.all_limits(), new.all_limits()
    for quote in sorted(new_limits):
        if quote not in old_limits:
            limits = new_limits[quote]
            changes.append(
                f"quote_limits: added {quote} (max_order_notional {_num(limits.max_order_notional)}, "
                f"max_daily_notional {_num(limits.max_daily_notional)}, "
                f"min_volume_24h {_num(limits.min_volume_24h)})"
            )
        else:
            changes.extend(_limit_changes(quote, old_limits[quote], new_limits[quote]))
    if new.max_orders_per_minute > old.max_orders_per_minute:
        changes.append(
            f"max_orders_per_minute: {old.max_orders_per_minute} -> {new.max_orders_per_minute}, higher"
        )
    if new.max_deviation_pct > old.max_deviation_pct:
        changes.append(
            f"max_deviation_pct: {_num(old.max_deviation_pct)} -> {_num(new.max_deviation_pct)} %, higher"
        )
    if new.max_reference_age_ms > old.max_reference_age_ms:
        changes.append(
            f"max_reference_age_ms: {old.max_reference_age_ms} -> {new.max_reference_age_ms} ms, older "
            "references accepted"
        )
    if new.state.openness > old.state.openness:
        changes.append(f"state: {old.state.value} -> {new.state.value}")
    if new.denial_burst > old.denial_burst:
        changes.append(
            f"denial_burst: {old.denial_burst} -> {new.denial_burst} denials before the account halts"
        )
    if new.denial_window_ms < old.denial_window_ms:
        changes.append(
            f"denial_window_ms: {old.denial_window_ms} -> {new.denial_window_ms} ms, a shorter window "
            "halts less often"
        )
    return changes
