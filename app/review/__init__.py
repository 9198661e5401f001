"""My work: what the logged-in user can act on now (views.py)."""
