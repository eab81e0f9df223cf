"""Certification bodies' public profiles, accreditations and services: the marketplace's directory."""
