"""Incremental reads: records changed since a watermark, REST for small reads, Bulk API 2.0 for large.

Each tick asks each object for ``SystemModstamp >= since`` (everything on the first,
full load) through the REST query resource (``queryAll``, so deleted records arrive
with ``IsDeleted``), following ``nextRecordsUrl`` page by page. The first page says
how many records match (``totalSize``): above ``bulk_query_threshold`` the cursor is
dropped and a Bulk API 2.0 ``queryAll`` job reads them instead, which is what the
full load of a real org does. Deciding on the first page, rather than sending every
full load to Bulk, keeps a small or empty object at one call: an object that has
never had a record has no watermark, so each tick reads it "in full" again. A tick
in which nothing changed therefore costs one query call per object.

Rows come back in pages (:data:`pipelines.crm.base.EXTRACT_PAGE_ROWS` at most), each
de-duplicated on (Id, SystemModstamp): a record edited while the pages were read can appear
twice. A copy in a later page is no newer than the one landed, so the extract skips it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pandas as pd

from pipelines.crm.base import EXTRACT_PAGE_ROWS
from pipelines.crm.fields import ObjectMapping
from pipelines.crm.salesforce import bulk
from pipelines.crm.salesforce.client import MalformedAnswer, SalesforceClient
from pipelines.crm.salesforce.soql import select_changed
from pipelines.crm.salesforce.values import text_value


def extract_pages(client: SalesforceClient, mapping: ObjectMapping, since: datetime | None) -> Iterator[pd.DataFrame]:
    """The changed records in pages of at most :data:`EXTRACT_PAGE_ROWS` (REST pages gathered up to that,
    Bulk results pages as they come): the extract lands each before the next is read."""
    fields = mapping.source_fields()
    soql = select_changed(mapping.sobject, fields, mapping.modstamp, since, mapping.filter)
    for rows in _rest_or_bulk(client, mapping.sobject, soql, fields, client.settings.bulk_query_threshold):
        frame = pd.DataFrame(rows, columns=fields, dtype=object)
        frame = frame.drop_duplicates([mapping.key, mapping.modstamp], keep="last")
        yield frame.sort_values([mapping.modstamp, mapping.key], na_position="first").reset_index(drop=True)


def _rest_or_bulk(client: SalesforceClient, sobject: str, soql: str, fields: list[str],
                  threshold: int) -> Iterator[list[dict]]:
    what = f"query of changed {sobject} records"
    page = client.call(what, lambda sf: _read_page(sf.query(soql, include_deleted=True), fields, what))
    if page["totalSize"] > threshold:
        yield from bulk.query_pages(client, sobject, soql, include_deleted=True)
        return
    rows = page["rows"]
    while not page["done"]:
        if len(rows) >= EXTRACT_PAGE_ROWS:
            yield rows
            rows = []
        next_url = page["nextRecordsUrl"]
        page = client.call(f"{what} (next page)",
                           lambda sf: _read_page(sf.query_more(next_url, identifier_is_url=True), fields, what))
        rows.extend(page["rows"])
    yield rows


def _read_page(page: object, fields: list[str], what: str) -> dict:
    """A REST query page, checked, with its records as text rows (inside the call, so a bad page
    is reported as a malformed answer)."""
    if (not isinstance(page, dict) or not isinstance(page.get("records"), list)
            or not isinstance(page.get("done"), bool) or not isinstance(page.get("totalSize"), int)):
        raise MalformedAnswer(f"{what} should answer a page of records", page)
    if not page["done"] and not isinstance(page.get("nextRecordsUrl"), str):
        raise MalformedAnswer(f"{what}: a page that is not the last has no nextRecordsUrl", page)
    rows = []
    for record in page["records"]:
        if not isinstance(record, dict):
            raise MalformedAnswer(f"{what}: a record that is not an object", record)
        try:
            rows.append({f: text_value(record.get(f)) for f in fields})
        except TypeError as exc:
            raise MalformedAnswer(f"{what}: {exc}", record) from None
    return {**page, "rows": rows}
