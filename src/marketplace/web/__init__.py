"""Layout helpers, static files and template globals shared by every page."""
