"""The routing flow as a picture: rows for a chart, and a Mermaid flowchart, generated from ``flow.yaml``.

A flow is a decision list: each step is asked in turn; the first whose condition holds and
whose action finds an owner decides, else the lead goes on to the next step (a step's
fallback is tried first), and a new lead no step decides ends in ``Unroutable``. The picture
says exactly that, so it never drifts from the rules: it is drawn from the parsed models.
"""

from __future__ import annotations

import re

from pipelines.routing.language.model import Flow, Step

LIMIT = 70  # characters of a condition shown in a box


def short(text: str, limit: int = LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def step_rows(flow: Flow, names: dict[str, str] | None = None) -> list[dict]:
    """One row per step: order, name, when (words), what it does, its fallback, its line in flow.yaml.

    ``names`` (user id -> name) shows the reps a step names by id as people.
    """
    def named(text: str) -> str:
        return re.sub(r"\b00[5G][0-9A-Za-z]{12,15}\b", lambda m: (names or {}).get(m.group(0), m.group(0)), text)

    rows = []
    for i, step in enumerate(flow.steps, start=1):
        rows.append({
            "order": i, "step": step.name,
            "when": step.when.describe() if step.when is not None else "every lead reaching it",
            "action": named(_does(step)), "fallback": named(step.fallback.describe()) if step.fallback is not None else "",
            "line": str(step.where),
        })
    return rows


def _does(step: Step) -> str:
    text = step.action.describe()
    if step.hold is not None:
        text = f"hold {step.hold.describe()}, then {text}"
    kinds = [s.kind for s in step.side_actions]
    return text + (f" (+ {', '.join(kinds)})" if kinds else "")


def _label(text: str) -> str:
    """Text safe inside a quoted Mermaid label."""
    return re.sub(r"[\"<>{}\[\]|]", lambda m: f"#{ord(m.group(0))};", text)


def mermaid(flow: Flow, title: str | None = None) -> str:
    """A Mermaid flowchart of one flow (paste it into any Mermaid viewer, or read it as text)."""
    lines = ["flowchart TD", f'  start(["{_label(title or flow.entry + " lead")}"])']
    previous = "start"
    for row in step_rows(flow):
        n = row["order"]
        lines.append(f'  s{n}{{"{n}. {_label(row["step"])}<br/>{_label(short(row["when"]))}"}}')
        lines.append(f'  a{n}["{_label(short(row["action"]))}"]')
        lines.append(f"  {previous} --> s{n}" if previous == "start" else f"  {previous} -- no owner --> s{n}")
        lines.append(f"  s{n} -- yes --> a{n}")
        if row["fallback"]:
            lines.append(f'  a{n} -. nobody .-> f{n}["fallback: {_label(short(row["fallback"]))}"]')
        previous = f"s{n}"
    end = "Unroutable queue" if flow.entry == "new" else "keeps its decision"
    lines.append(f'  {previous} -- no owner --> done[["{end}"]]')
    return "\n".join(lines)
