"""Budget envelopes and funding decisions: pages (views.py), API (api.py, schemas.py), the rules (services.py)."""
