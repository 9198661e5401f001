"""Implementation: progress, advances, changes (services.py), evaluation indicators (evaluation.py), forms (views.py), API (api.py, schemas.py)."""
