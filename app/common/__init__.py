"""What several areas share: the stage-action rules (rules.py), support caps (caps.py), the stage summary for pages (web.py) and the API (stages_api.py)."""
