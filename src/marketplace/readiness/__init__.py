"""Readiness: gap self-assessment, internal audits, management reviews and the stage 1 document room."""
