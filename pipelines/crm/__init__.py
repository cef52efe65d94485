"""CRM adapters: the local SQLite CRM and Salesforce behind one contract."""
