"""Salesforce-shaped errors.

Two kinds, because Salesforce itself has two: an ``ApiError`` fails the whole
HTTP request (status + JSON list ``[{message, errorCode, fields}]``), while a
``RecordError`` fails one record inside a batch (collections, bulk, convertLead)
and is reported as ``{statusCode, message, fields}`` next to the others.
A single-record REST call turns a ``RecordError`` into a 400 ``ApiError``.
"""

from __future__ import annotations


class RecordError(Exception):
    """One record failed; the batch it belongs to goes on."""

    def __init__(self, code: str, message: str, fields=()):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.fields = list(fields)

    def as_save_error(self) -> dict:
        """The ``errors[]`` item of a SaveResult (collections, create)."""
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}

    def as_bulk_error(self) -> str:
        """The ``sf__Error`` cell of a Bulk API 2.0 failedResults row."""
        if self.fields:
            return f"{self.code}:{self.message}:{','.join(self.fields)} --"
        return f"{self.code}:{self.message}:--"


class ApiError(Exception):
    """The whole request failed with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, fields=()):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = list(fields)

    @classmethod
    def from_record(cls, err: RecordError, status: int = 400) -> "ApiError":
        return cls(status, err.code, err.message, err.fields)

    def body(self) -> list:
        return [{"message": self.message, "errorCode": self.code, "fields": self.fields}]


def not_found() -> ApiError:
    return ApiError(404, "NOT_FOUND", "The requested resource does not exist")
