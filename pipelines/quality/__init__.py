"""Data quality: what makes a record unusable (quarantine) and the Great Expectations suites every tick runs."""
