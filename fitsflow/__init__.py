"""fitsflow: change and release management for school and trust ICT teams."""

__version__ = "0.1.0"
