"""A tick's story in one markdown page, for the ``crm_push`` asset in the Dagster UI.

In the order a lead goes: how many came in -> what became of them -> by which rule step ->
to which reps and queues (names, not ids) -> what was written to the CRM and what failed.
A quiet tick says so in words, and points to the last tick that had leads.
"""

from __future__ import annotations

from datetime import datetime

from pipelines.ledger.summary import DAY2_ENTRIES, OUTCOMES, WRITE_KINDS

TOP = 12


def _listing(counts: dict[str, int], top: int = TOP) -> str:
    items = list(counts.items())
    text = " · ".join(f"{name} **{n:,}**" for name, n in items[:top])
    if len(items) > top:
        text += f" · and {len(items) - top} more ({sum(n for _, n in items[top:]):,})"
    return text


def story(summary: dict, now: datetime, last_busy: tuple[str, datetime, int] | None = None) -> str:
    """Markdown: the tick in → decided → by step → owners and queues → pushed / failed."""
    leads_in = summary.get("leads_in", 0)
    outcomes = summary.get("lead_outcomes") or {}
    day2 = summary.get("day2_decisions", 0)
    head = f"### Tick at {now:%Y-%m-%d %H:%M} UTC"
    news = sum(n for k, n in outcomes.items() if k != "unchanged")
    if not news and not day2 and not summary.get("writes"):
        came = (f"{leads_in:,} lead record(s) came back changed (the echo of our own writes, or fields routing does "
                f"not watch): nothing to route. " if leads_in else "")
        text = f"{head}: no new leads\n\n{came}Nothing was routed and nothing was written to the CRM."
        if last_busy:
            run_id, at, n = last_busy
            text += f"\n\nThe last tick with leads: run `{run_id[:8]}` at {at:%Y-%m-%d %H:%M} UTC ({n:,} leads in)."
        return text
    lines = [f"{head}: {leads_in:,} leads in, {outcomes.get('routed', 0):,} routed", "",
             "| what became of the leads that came in | leads |", "|---|---:|"]
    for key, words in OUTCOMES.items():
        if outcomes.get(key):
            lines.append(f"| {words.replace('`', '')} | {outcomes[key]:,} |")
    lines.append(f"| **leads in** | **{leads_in:,}** |")
    if day2:
        lines += ["", f"**Day 2**: {day2:,} decisions on leads already assigned: "
                  + _listing({DAY2_ENTRIES.get(k, k): v for k, v in (summary.get("day2_by_entry") or {}).items()})]
    steps = {k: v for k, v in (summary.get("per_step") or {}).items() if k != "(already owned)"}
    if steps:
        lines += ["", "**By rule step**: " + _listing(steps)]
    if summary.get("per_owner"):
        lines += ["", "**To reps**: " + _listing(summary["per_owner"])]
    if summary.get("per_queue"):
        lines += ["", "**To queues**: " + _listing(summary["per_queue"])]
    writes = summary.get("writes") or {}
    if writes:
        lines += ["", "| written to the CRM | pushed | already so | retry later | failed |", "|---|---:|---:|---:|---:|"]
        for kind, words in WRITE_KINDS.items():
            w = writes.get(kind)
            if w:
                lines.append(f"| {words} | {w.get('pushed', 0):,} | {w.get('skipped_unchanged', 0):,} | "
                             f"{w.get('pending', 0):,} | {w.get('failed', 0):,} |")
        failed = sum(w.get("failed", 0) for w in writes.values())
        if failed:
            lines += ["", f"**{failed:,} write(s) failed** and need a person: `leadroute report` lists them."]
    else:
        lines += ["", "Nothing was written to the CRM."]
    return "\n".join(lines)
