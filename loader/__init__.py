"""perm-migrate: PERM Tracker v1 -> v2 (Convex) migration loader."""

__version__ = "0.1.0"
