"""The ledger: every routing decision's CRM writes, their push status, and the watermarks.

The ledger, the pool state and the watermarks are the only warehouse tables that
carry memory from tick to tick.
"""
