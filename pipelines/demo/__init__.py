"""Demo data: a realistic, messy CRM for trying leadroute and measuring it."""
