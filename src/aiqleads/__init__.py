"""AIQLeads: a marketplace for real-estate leads."""

__version__ = "0.1.0"
