"""Dashboards: the home page, each user's home, and a certification body's view of its clients."""
