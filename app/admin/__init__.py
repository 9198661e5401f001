"""The admin area: users, role grants, units, support caps, the administrative reform (views.py, audit.py)."""
