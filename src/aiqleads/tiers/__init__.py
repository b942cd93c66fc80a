"""Tier policy: the settings' defaults, overridden at run time by an admin (one table)."""
