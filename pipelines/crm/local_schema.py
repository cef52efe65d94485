"""The embedded local CRM: a SQLite file whose tables mirror Salesforce objects.

Table and column names are Salesforce API names, so one field mapping
(``routing_rules/fields.yaml``) serves both the local CRM and a real org, and a
newcomer who later connects Salesforce recognises every name.

Conventions shared with the Salesforce API:
- Ids are 18 characters (:mod:`pipelines.crm.ids`: 15 plus the case-safe suffix) with the object's key prefix (``00Q`` Lead, ``001``
  Account, ``005`` User, ``00G`` Group/queue, ``006`` Opportunity, ``003``
  Contact, ``00T`` Task, ``00U`` Event, ``701`` Campaign, ``00v`` CampaignMember).
- Datetimes are text in the REST API's form, ``2026-11-22T10:15:00.000+0000``,
  so they sort lexicographically in UTC.
- Booleans are 0/1 integers.
- Like a real org, the Lead object has accumulated duplicate custom fields
  (several industries, a second address set), which unification has to merge.

``_RecordLock`` is not a Salesforce object: it lets tests and ops simulate a row
held by another transaction, so the local CRM can answer ``UNABLE_TO_LOCK_ROW``
exactly as Salesforce does. ``_NotificationEmail`` is the email the CRM would send the new owner
of a converted lead (``sendNotificationEmail`` in Salesforce; rules ``notify: {crm: true}``).
"""

from __future__ import annotations

from pipelines.crm import ids

KEY_PREFIX = {
    "Lead": "00Q",
    "Account": "001",
    "User": "005",
    "Group": "00G",
    "Opportunity": "006",
    "Contact": "003",
    "Task": "00T",
    "Event": "00U",
    "Campaign": "701",
    "CampaignMember": "00v",
}

_SYSTEM = """
    CreatedDate TEXT NOT NULL,
    CreatedById TEXT,
    LastModifiedDate TEXT NOT NULL,
    SystemModstamp TEXT NOT NULL,
    IsDeleted INTEGER NOT NULL DEFAULT 0
"""

DDL: dict[str, str] = {
    "User": f"""
CREATE TABLE IF NOT EXISTS "User" (
    Id TEXT PRIMARY KEY,
    Username TEXT UNIQUE,
    Name TEXT NOT NULL,
    FirstName TEXT,
    LastName TEXT,
    Email TEXT,
    IsActive INTEGER NOT NULL DEFAULT 1,
    Title TEXT,
    Department TEXT,
    Sales_Role__c TEXT,          -- SDR, ADR, AE, CSM, Manager
    ManagerId TEXT,
    TimeZoneSidKey TEXT,
    LanguageLocaleKey TEXT,
    {_SYSTEM}
)""",
    "Group": f"""
CREATE TABLE IF NOT EXISTS "Group" (
    Id TEXT PRIMARY KEY,
    Name TEXT NOT NULL,
    DeveloperName TEXT UNIQUE NOT NULL,
    Type TEXT NOT NULL DEFAULT 'Queue',
    {_SYSTEM}
)""",
    "Account": f"""
CREATE TABLE IF NOT EXISTS Account (
    Id TEXT PRIMARY KEY,
    Name TEXT NOT NULL,
    Website TEXT,
    Phone TEXT,
    BillingStreet TEXT,
    BillingCity TEXT,
    BillingState TEXT,
    BillingPostalCode TEXT,
    BillingCountry TEXT,
    ShippingStreet TEXT,
    ShippingCity TEXT,
    ShippingState TEXT,
    ShippingPostalCode TEXT,
    ShippingCountry TEXT,
    Industry TEXT,
    Industry__c TEXT,
    NaicsCode TEXT,
    NumberOfEmployees INTEGER,
    AnnualRevenue REAL,
    Type TEXT,                   -- Customer, Target, Partner, Prospect, Non-Target
    ParentId TEXT,
    MasterRecordId TEXT,         -- set on the deleted loser of a merge: the account it was merged into
    OwnerId TEXT NOT NULL,
    Customer_Success_Manager__c TEXT,
    Designated_ADR__c TEXT,
    Products_Owned__c TEXT,      -- semicolon-separated multi-picklist
    AccountSource TEXT,
    Rating TEXT,
    LastActivityDate TEXT,
    {_SYSTEM}
)""",
    "Opportunity": f"""
CREATE TABLE IF NOT EXISTS Opportunity (
    Id TEXT PRIMARY KEY,
    Name TEXT NOT NULL,
    AccountId TEXT,
    StageName TEXT NOT NULL,
    IsClosed INTEGER NOT NULL DEFAULT 0,
    IsWon INTEGER NOT NULL DEFAULT 0,
    Amount REAL,
    CloseDate TEXT,
    OwnerId TEXT NOT NULL,
    LeadSource TEXT,
    {_SYSTEM}
)""",
    "Lead": f"""
CREATE TABLE IF NOT EXISTS Lead (
    Id TEXT PRIMARY KEY,
    FirstName TEXT,
    LastName TEXT,
    Title TEXT,
    Email TEXT,
    Company TEXT,
    Website TEXT,
    Phone TEXT,
    MobilePhone TEXT,
    Street TEXT,
    City TEXT,
    State TEXT,
    PostalCode TEXT,
    Country TEXT,
    Latitude REAL,
    Longitude REAL,
    Industry TEXT,
    NumberOfEmployees INTEGER,
    AnnualRevenue REAL,
    LeadSource TEXT,
    Status TEXT NOT NULL DEFAULT 'New',
    Rating TEXT,
    Description TEXT,
    OwnerId TEXT NOT NULL,
    IsConverted INTEGER NOT NULL DEFAULT 0,
    ConvertedAccountId TEXT,
    ConvertedContactId TEXT,
    ConvertedOpportunityId TEXT,
    ConvertedDate TEXT,
    LastActivityDate TEXT,
    -- Duplicate custom fields of the kind real orgs accumulate.
    Industry__c TEXT,
    Industry_Vertical__c TEXT,
    Sector__c TEXT,
    Company_Country__c TEXT,
    State_Province__c TEXT,
    Zip_Code__c TEXT,
    Employees__c TEXT,
    -- Routing inputs and outputs.
    Product_Interest__c TEXT,
    Preferred_Language__c TEXT,
    Lead_Score__c REAL,
    Matched_Account__c TEXT,
    Routing_Reason__c TEXT,
    {_SYSTEM}
)""",
    "Contact": f"""
CREATE TABLE IF NOT EXISTS Contact (
    Id TEXT PRIMARY KEY,
    AccountId TEXT,
    FirstName TEXT,
    LastName TEXT,
    Email TEXT,
    Phone TEXT,
    Title TEXT,
    OwnerId TEXT NOT NULL,
    LeadSource TEXT,
    {_SYSTEM}
)""",
    "Task": f"""
CREATE TABLE IF NOT EXISTS Task (
    Id TEXT PRIMARY KEY,
    WhoId TEXT,
    WhatId TEXT,
    OwnerId TEXT NOT NULL,
    Subject TEXT,
    Status TEXT NOT NULL DEFAULT 'Not Started',
    Priority TEXT DEFAULT 'Normal',
    ActivityDate TEXT,
    Description TEXT,
    IsReminderSet INTEGER NOT NULL DEFAULT 0, -- the owner is reminded at ReminderDateTime (rules: notify crm)
    ReminderDateTime TEXT,
    LeadRoute_Key__c TEXT UNIQUE, -- external id: a retried push upserts, never duplicates
    {_SYSTEM}
)""",
    "Event": f"""
CREATE TABLE IF NOT EXISTS Event (
    Id TEXT PRIMARY KEY,
    WhoId TEXT,
    WhatId TEXT,
    OwnerId TEXT NOT NULL,
    Subject TEXT,
    StartDateTime TEXT,
    EndDateTime TEXT,
    {_SYSTEM}
)""",
    "Campaign": f"""
CREATE TABLE IF NOT EXISTS Campaign (
    Id TEXT PRIMARY KEY,
    Name TEXT NOT NULL,
    IsActive INTEGER NOT NULL DEFAULT 1,
    OwnerId TEXT,
    {_SYSTEM}
)""",
    "CampaignMember": f"""
CREATE TABLE IF NOT EXISTS CampaignMember (
    Id TEXT PRIMARY KEY,
    CampaignId TEXT NOT NULL,
    LeadId TEXT,
    ContactId TEXT,
    Status TEXT DEFAULT 'Sent',
    {_SYSTEM},
    UNIQUE (CampaignId, LeadId)
)""",
    "_RecordLock": """
CREATE TABLE IF NOT EXISTS _RecordLock (
    RecordId TEXT PRIMARY KEY,
    Reason TEXT
)""",
    "_NotificationEmail": """
CREATE TABLE IF NOT EXISTS _NotificationEmail (
    RecordId TEXT,
    OwnerId TEXT,
    Reason TEXT,
    SentAt TEXT
)""",
}

INDEXES = [
    "CREATE INDEX IF NOT EXISTS lead_modstamp ON Lead (SystemModstamp)",
    "CREATE INDEX IF NOT EXISTS account_modstamp ON Account (SystemModstamp)",
    "CREATE INDEX IF NOT EXISTS user_modstamp ON \"User\" (SystemModstamp)",
    "CREATE INDEX IF NOT EXISTS opportunity_modstamp ON Opportunity (SystemModstamp)",
    "CREATE INDEX IF NOT EXISTS opportunity_account ON Opportunity (AccountId)",
    "CREATE INDEX IF NOT EXISTS lead_owner ON Lead (OwnerId)",
    "CREATE INDEX IF NOT EXISTS task_who ON Task (WhoId)",
]

# Objects the pipeline may read through the adapter (the SOQL-visible ones).
OBJECTS = [name for name in DDL if not name.startswith("_")]


def create_schema(con) -> None:
    """Create every table and index if missing (idempotent)."""
    for ddl in DDL.values():
        con.execute(ddl)
    for ddl in INDEXES:
        con.execute(ddl)


def make_id(sobject: str, n: int) -> str:
    """The 18-character Salesforce Id of the n-th record of an object: the key prefix, 12 digits,
    and the case-safe suffix (so every record differs in its first 15 characters, as in an org)."""
    return ids.make(KEY_PREFIX[sobject], n)


def sf_datetime(ts) -> str:
    """Format a UTC datetime the way the Salesforce REST API does."""
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}+0000"
