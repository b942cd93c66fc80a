"""Source and schema monitoring: per source, field coverage and drift of key fields against a
stored baseline (`aiqleads sources report`, the AIQSourceDrift alert)."""
