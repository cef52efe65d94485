"""The fields of a record that matching reads (a lead, a CRM account, a row of a CSV file).

One definition, in a module with no imports, so that asking whether a lead changed in what
matching reads (:mod:`pipelines.matching.pending`) loads no normaliser.
"""

FIELDS = (
    "company", "website", "email", "phone", "street", "city", "state",
    "postal_code", "country", "latitude", "longitude",
)  # fmt: skip
