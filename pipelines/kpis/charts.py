"""The report's charts, as Altair (Vega-Lite) specs: drawn in the browser by the Vega libraries inlined
in the page, so the page needs no network."""

from __future__ import annotations

import altair as alt
import pandas as pd

from pipelines.kpis.formats import when

WIDTH = 640


def _ticks(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Tick times as labels in local time (in order), so a chart of a few ticks reads like a list of them."""
    df = df.copy()
    order = [when(t) for t in sorted(df["tick"].unique())]
    df["tick"] = df["tick"].map(when)
    return df, order


def bars(df: pd.DataFrame, label: str, value: str, title: str, unit: str = "") -> alt.Chart:
    """Horizontal bars, largest first."""
    height = max(60, 18 * len(df))
    return alt.Chart(df, title=title).mark_bar().encode(
        x=alt.X(f"{value}:Q", title=unit or value.replace("_", " ")),
        y=alt.Y(f"{label}:N", sort="-x", title=None),
        tooltip=[alt.Tooltip(f"{label}:N"), alt.Tooltip(f"{value}:Q", format=",.1f")],
    ).properties(width=WIDTH - 200, height=height)


def stacked_per_tick(df: pd.DataFrame, color: str, value: str, title: str) -> alt.Chart:
    """Per tick, a bar stacked by ``color`` (leads by outcome, decisions by step)."""
    df, order = _ticks(df)
    return alt.Chart(df, title=title).mark_bar().encode(
        x=alt.X("tick:O", sort=order, title="tick", axis=alt.Axis(labelAngle=-40)),
        y=alt.Y(f"sum({value}):Q", title=value),
        color=alt.Color(f"{color}:N", title=color.replace("_", " "), sort="-y"),
        tooltip=["tick:O", f"{color}:N", alt.Tooltip(f"sum({value}):Q", title=value)],
    ).properties(width=WIDTH, height=260)


def heat_per_tick(df: pd.DataFrame, row: str, value: str, title: str) -> alt.Chart:
    """Per tick and ``row`` (a rep), a cell coloured by ``value``: who got leads when."""
    df, order = _ticks(df)
    rows = df[row].nunique()
    return alt.Chart(df, title=title).mark_rect().encode(
        x=alt.X("tick:O", sort=order, title="tick", axis=alt.Axis(labelAngle=-40)),
        y=alt.Y(f"{row}:N", title=None),
        color=alt.Color(f"{value}:Q", title=value, scale=alt.Scale(scheme="blues")),
        tooltip=["tick:O", f"{row}:N", f"{value}:Q"],
    ).properties(width=WIDTH - 160, height=max(80, 16 * rows))


def lines_per_tick(df: pd.DataFrame, series: str, value: str, title: str, unit: str) -> alt.Chart:
    """One line (with points, so a single tick still shows) per ``series`` over the ticks."""
    df, order = _ticks(df)
    return alt.Chart(df, title=title).mark_line(point=True).encode(
        x=alt.X("tick:O", sort=order, title="tick", axis=alt.Axis(labelAngle=-40)),
        y=alt.Y(f"{value}:Q", title=unit),
        color=alt.Color(f"{series}:N", title=series),
        tooltip=["tick:O", f"{series}:N", alt.Tooltip(f"{value}:Q", format=",.2f")],
    ).properties(width=WIDTH, height=220)


def flow(rows: list[dict], title: str) -> alt.Chart:
    """A flow of steps as a picture: each step a box (its condition below its name), what it does to its
    right, lines down for "no owner here: next step", ending in the Unroutable queue."""
    n = len(rows)
    boxes = pd.DataFrame(
        [{"y": float(r["order"]), "label": f"{r['order']}. {r['step']}", "when": r["when"],
          "what": r["action"] + (f"; else {r['fallback']}" if r["fallback"] else "")} for r in rows]
        + [{"y": n + 1.0, "label": "Unroutable queue", "when": "no step placed the lead", "what": ""}])
    boxes = boxes.assign(x0=0.0, x1=4.6, xa=4.6, xb=5.3, top=boxes["y"] - 0.38, bottom=boxes["y"] + 0.38)
    links = pd.DataFrame({"x": 0.3, "from": boxes["bottom"].iloc[:-1].to_numpy(), "to": boxes["top"].iloc[1:].to_numpy()})
    x = alt.Scale(domain=[0, 10])
    y = alt.Scale(domain=[0.4, n + 1.6], reverse=True)

    def X(field):
        return alt.X(f"{field}:Q", scale=x, axis=None)

    def Y(field):
        return alt.Y(f"{field}:Q", scale=y, axis=None)

    base = alt.Chart(boxes)
    box = base.mark_rect(color="#e8eef8", stroke="#3b7dd8").encode(
        x=X("x0"), x2="x1:Q", y=Y("top"), y2="bottom:Q", tooltip=["label:N", "when:N", "what:N"])
    name = base.mark_text(align="left", dx=6, dy=-7, fontWeight="bold").encode(x=X("x0"), y=Y("y"), text="label:N")
    cond = base.mark_text(align="left", dx=6, dy=8, color="#555", limit=380).encode(x=X("x0"), y=Y("y"), text="when:N")
    arrow = base.transform_filter("datum.what != ''").mark_rule(color="#888").encode(x=X("xa"), x2="xb:Q", y=Y("y"))
    what = base.mark_text(align="left", dx=4).encode(x=X("xb"), y=Y("y"), text="what:N")
    down = alt.Chart(links).mark_rule(color="#999").encode(x=X("x"), y=Y("from"), y2="to:Q")
    return alt.layer(down, box, name, cond, arrow, what).properties(
        width=WIDTH + 200, height=46 * (n + 1), title=title).configure_view(stroke=None)
