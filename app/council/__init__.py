"""The appraisal council: pages (views.py), API (api.py, schemas.py), assignment, recusal and score sheets (services.py)."""
