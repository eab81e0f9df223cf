"""Dashboards: each user's home page, and a certification body's view of its clients."""
