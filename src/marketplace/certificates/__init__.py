"""Certification decisions, certificates, their status changes and public verification (ISO/IEC 17021-1 9.5, 9.6)."""
