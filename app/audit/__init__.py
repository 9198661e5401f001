"""The audit area: auditors' read-only pages (views.py), the global log (log.py), chain jobs (jobs.py), API (api.py)."""
