"""archive: golden customers inactive for `archive.inactive_years` leave golden_customers (and every
CRM view and tag) for archived_customers, and come back with their id on new activity or a restore."""
