"""Workflow definitions shipped with fitsflow, as TOML data files."""
