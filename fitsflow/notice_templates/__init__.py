"""Shipped release notice templates, one per tier (Jinja2 text; first line the subject)."""
