"""The fields of a record that matching reads (a lead, a CRM account, a row of a CSV file).

One definition, in a module with no imports, so that asking whether a lead changed in what
matching reads (:mod:`pipelines.matching.pending`) loads no normaliser.
"""

FIELDS = (
    "company", "website", "email", "phone", "street", "city", "state",
    "postal_code", "country", "latitude", "longitude",
)  # fmt: skip

# A lead's own name, read beside its company where a record holds it (the pipeline's leads): a company
# that is the person's name is none (:func:`pipelines.matching.normalise.own_name`).
PERSON_NAME = ("first_name", "last_name")

# A person's date of birth: contacts hold one (Salesforce's Contact.Birthdate), and lists of people do;
# CRM accounts and leads do not, so it is read only from the files a user maps it in.
PERSON_FIELDS = ("birthdate",)

# What a CSV column may be mapped to (``leadroute dedupe``, ``match`` and ``eval``).
MAPPABLE = (*FIELDS, *PERSON_NAME, *PERSON_FIELDS)
