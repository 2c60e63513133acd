"""The party operations the CLI and the operator console share: one operator-run sync (the
service's `handle`, with a missing record or a held lock said the same way) and how a decision
and an audit entry read. No printing here; no wiring (the console is mounted by it)."""

from __future__ import annotations

from typing import Any

from services.clients.errors import NotFound

from .errors import CliError


def plan_lines(plan: Any, show_values: bool) -> list[str]:
    """A sync decision as the operator reads it (CLI and console): variant, fields per side,
    conflicts (values only with `show_values`: personal data), notices."""
    if plan is None:
        return []
    lines = [f"plan: {plan.variant}"]
    for label, fields in (("to Advoware", plan.to_advoware), ("to EspoCRM", plan.to_espocrm)):
        if fields:
            lines.append(f"  {label}: {', '.join(fields)}")
    for c in plan.conflicts:
        detail = f" (EspoCRM {c.espo_value!r} / Advoware {c.advo_value!r})" if show_values else ""
        lines.append(f"  conflict: {c.field} → {c.winner} wins{detail}")
    for line in plan.children.lines() if plan.children is not None else ():
        lines.append(f"  {line}")  # entry and address writes: kinds and ids, never values
    for a in plan.actions:
        if getattr(a, "kind", None) and getattr(a, "recipient", None):
            lines.append(f"  notify {a.recipient}: {a.kind}")
    return lines


async def run_sync(
    service: Any, entity_id: str, *, dry_run: bool, direction: str, trigger: str, trace_id: str
) -> Any:
    """One party's sync as an operator asks for it (the CLI and the console): the service's
    `handle`, with a missing record or a held lock as a CliError that says what to do."""
    if dry_run:  # a preview reports a missing record as dry_run like any other: ask first
        try:
            await service.espo.get("CBeteiligte", entity_id, select=["id"])
        except NotFound:
            raise CliError(f"CBeteiligte {entity_id} not found in EspoCRM") from None
    outcome = await service.handle(
        entity_id,
        "sync_check",
        trigger=trigger,
        trace_id=trace_id,
        direction=direction,
        dry_run=dry_run,
    )
    if outcome.status == "not_found":
        raise CliError(f"CBeteiligte {entity_id} not found in EspoCRM")
    if outcome.status == "locked":
        raise CliError(
            f"CBeteiligte {entity_id} is being synced by another process (lock "
            f"{service.lock_key(entity_id)}); try again in a moment, or see `bitbylaw locks list`"
        )
    return outcome


def audit_details(entry: Any) -> list[str]:
    """What an audit entry decided, as stored (values masked unless AUDIT_SHOW_VALUES): the
    fields written per side, conflicts, the error. The CLI and the console show the same."""
    decision = entry.decision or {}
    lines = [
        f"{key}: {', '.join(decision[key])}" for key in ("to_advoware", "to_espocrm") if decision.get(key)
    ]
    lines += [f"conflict: {c}" for c in decision.get("conflicts") or []]
    if entry.error:
        lines.append(f"error: {entry.error}")
    return lines
