"""The API budget: leadroute's ceiling on the org's daily API allowance.

Salesforce gives an org one rolling 24-hour allowance of API calls, shared by
every integration. Each answer reports the org's usage (``Sforce-Limit-Info:
api-usage=used/limit``); leadroute stops calling once that usage reaches its
share of the allowance (``SALESFORCE_API_BUDGET_SHARE``, default half), so a
busy day for leadroute never starves the org's other integrations. The figure is
the org's, not leadroute's own, so the ceiling errs on the side of the others.
"""

from __future__ import annotations

import math

from pipelines.crm.base import CallCounter, CrmUnavailable

BUDGET_CODE = "API_BUDGET_REACHED"


class ApiBudget:
    def __init__(self, share: float, counter: CallCounter):
        self.share = share
        self.counter = counter

    def observe(self, used: int, limit: int) -> None:
        self.counter.org_used, self.counter.org_limit = used, limit
        self.counter.ceiling = self.ceiling

    @property
    def ceiling(self) -> int | None:
        limit = self.counter.org_limit
        return None if limit is None else math.floor(limit * self.share)

    def check(self) -> None:
        """Raise before a call that the ceiling no longer allows (unknown usage allows the first call)."""
        ceiling, used = self.ceiling, self.counter.org_used
        if ceiling is not None and used is not None and used >= ceiling:
            raise CrmUnavailable(
                BUDGET_CODE,
                f"the org has used {used:,} of its {self.counter.org_limit:,} daily API calls; leadroute stops at "
                f"{self.share:.0%} ({ceiling:,}) so other integrations keep theirs. Everything stays pending and "
                f"resumes when usage falls; raise SALESFORCE_API_BUDGET_SHARE to allow more.",
            )
