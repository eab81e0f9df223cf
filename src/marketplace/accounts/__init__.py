"""Users, organisations and their sites, certification bodies as tenants, memberships, sessions and tokens."""
