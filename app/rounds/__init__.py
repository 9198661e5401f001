"""Plan rounds and priority: pages (views.py), API (api.py, schemas.py), rounds (services.py), priority flags (priority.py)."""
