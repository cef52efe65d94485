"""``notify:``: who hears about a decision once its owner change is in the CRM.

Written on a flow step (``flow.yaml``), a pool (``pools.yaml``) or an SLA outcome
(``day2.yaml`` ``slas.<name>.on_miss.reassign`` / ``escalate``)::

    notify: [owner, {channel: sales_hot}]          # the new owner by email, and a named channel
    notify: [manager]                              # the new owner's manager (reps.csv manager_id)

Recipients: ``owner`` (the decision's new owner, by the email in ``reps.csv``), ``manager``
(that owner's manager in ``reps.csv``) and ``{channel: NAME}`` (the apprise URLs in
``LEADROUTE_NOTIFY_CHANNEL_<NAME>``). A decision collects the recipients of its step, its
pool and its SLA; each recipient hears once. Sending is :mod:`pipelines.notify`.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationInfo, model_validator

from pipelines.routing.language.node import Node, Written, at
from pipelines.routing.language.problems import suggest
from pipelines.sourcefile import LineDict, problem

PEOPLE = ("owner", "manager")
CHANNEL_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
EXAMPLE = "notify: [owner, manager, {channel: sales_hot}]"


class Notify(Node):
    """The recipients one ``notify:`` names, and whether the CRM notifies the owner itself (``crm``)."""

    owner: bool = False
    manager: bool = False
    channels: tuple[str, ...] = ()
    crm: bool = False  # flow steps: the owner's task carries a reminder; a conversion sends the CRM's email

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, Written):
            return data
        node, where, label = data
        label = f"{label}: " if label else ""  # a pool's problems are labelled by the pool itself
        out: dict[str, Any] = {"where": where, "owner": False, "manager": False, "channels": [], "crm": False}
        if isinstance(node, dict) and "channel" not in node:  # {to: [recipients], crm: true}
            here = at(info, node) if isinstance(node, LineDict) else where
            if set(node) - {"to", "crm"} or not isinstance(node.get("crm", False), bool):
                raise problem(f"{label}`notify` takes a list of recipients, or {{to: [recipients], crm: true}}; "
                              f"e.g. {EXAMPLE}", here)
            out["crm"] = node.get("crm", False)
            node = node.get("to", [])
            if out["crm"] and node == []:
                return {**out, "channels": ()}
        items = [node] if isinstance(node, (str, dict)) else node
        if not isinstance(items, list) or not items:
            raise problem(f"{label}`notify` needs a list of recipients, e.g. {EXAMPLE}", where)
        for item in items:
            here = at(info, item) if isinstance(item, LineDict) else where
            if isinstance(item, dict):
                if set(item) != {"channel"}:
                    raise problem(f"{label}a notify recipient mapping is {{channel: NAME}}, not {sorted(item)}", here)
                name = item["channel"]
                if not isinstance(name, str) or not CHANNEL_NAME.match(name):
                    raise problem(f"{label}channel name {name!r} must be lower-case letters, digits and _ (it "
                                  f"names the variable LEADROUTE_NOTIFY_CHANNEL_<NAME>), e.g. sales_hot", here)
                if name in out["channels"]:
                    raise problem(f"{label}channel {name!r} is named twice in `notify`", here)
                out["channels"].append(name)
            elif item in PEOPLE:
                out[item] = True
            else:
                close = suggest(item, PEOPLE) if isinstance(item, str) else ""
                raise problem(f"{label}unknown notify recipient {item!r}"
                              f"{close if close.startswith(' (did you mean') else ''}; a recipient is owner, "
                              f"manager or {{channel: NAME}}", here)
        out["channels"] = tuple(out["channels"])
        return out

    def recipients(self) -> list[str]:
        """``owner``, ``manager``, ``channel:<name>``: what the outbox keys messages by."""
        return [r for r in PEOPLE if getattr(self, r)] + [f"channel:{c}" for c in self.channels]

    def describe(self) -> str:
        return "notify " + ", ".join(r.replace("channel:", "channel ") for r in self.recipients())
