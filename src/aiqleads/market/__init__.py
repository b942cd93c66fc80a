"""Market context per ZIP and metro: published series (Zillow, Redfin), series from the leads,
and indicators (`market_context`)."""
