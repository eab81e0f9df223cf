"""Notifications: the outbox written with each cause, e-mail rendering, preferences and the worker."""
