"""Login, logout, password change and the language switch (views.py)."""
