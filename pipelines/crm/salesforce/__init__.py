"""The Salesforce CRM adapter, through simple-salesforce (unmodified).

    from pipelines.crm.salesforce import SalesforceCrm, load_settings

    crm = SalesforceCrm(load_settings({"username": ..., "password": ..., "security_token": ...}))
    crm.extract_pages(mapping.objects["lead"], since=None)  # Bulk API 2.0 full load, a page at a time
    crm.update_records("Lead", updates)                    # Collections, or Bulk API 2.0 above 2,000

Modules: ``settings`` (credentials and tuning), ``session`` (timeouts, call
counting), ``auth`` (logins), ``client`` (one safe call: budget, re-login,
retries), ``budget``, ``soql``, ``values``, ``extract``, ``bulk``, ``push``,
``convert``, ``adapter``.
"""

from pipelines.crm.salesforce.adapter import SalesforceCrm
from pipelines.crm.salesforce.client import SalesforceRefused
from pipelines.crm.salesforce.settings import (CREDENTIAL_VARS, TUNING_VARS, SalesforceSettings,
                                               SalesforceSettingsError, load_settings, tuning_from_env)

__all__ = ["SalesforceCrm", "SalesforceSettings", "SalesforceSettingsError", "SalesforceRefused", "load_settings",
           "tuning_from_env", "CREDENTIAL_VARS", "TUNING_VARS"]
