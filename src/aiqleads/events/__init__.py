"""The append-only event log of what agents do with leads (models.LeadEvent)."""
