"""Audit reports, findings, corrective actions and evidence files (ISO/IEC 17021-1 9.4.8 to 9.4.10)."""
