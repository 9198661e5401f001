"""Notifications: pages and the worker command (views.py), the outbox engine hook (outbox.py), mail, reminders, worker."""
