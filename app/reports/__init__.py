"""Reports and dashboards: pages (views.py), API (api.py), SQL aggregates (queries.py), statutory reports, charts, exports."""
