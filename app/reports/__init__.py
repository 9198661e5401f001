"""Reports and dashboards: pages (views.py), API (api.py), SQL aggregates (queries.py), the pre-aggregated
report cube (cube.py, migration 0016_report_cube), statutory reports, charts, exports."""
