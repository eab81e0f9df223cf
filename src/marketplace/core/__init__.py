"""Infrastructure every domain stands on: database, errors, clock, activity log."""
