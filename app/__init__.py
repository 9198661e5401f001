"""GrantFlow Flask application."""
