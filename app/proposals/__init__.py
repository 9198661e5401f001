"""Proposals: pages (views.py, forms.py), API (api.py, schemas.py), creation and editing (services.py), search, eligibility."""
