"""Certification-body marketplace and audit-scheduling platform."""
