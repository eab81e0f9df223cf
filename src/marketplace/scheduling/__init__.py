"""Engagements, certification cycles, audits, auditors and bookings: the three-year audit programme."""
