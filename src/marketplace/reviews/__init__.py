"""Reviews of certification bodies by clients with a completed audit; they keep each body's rating summary."""
