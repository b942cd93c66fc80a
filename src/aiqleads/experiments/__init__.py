"""A/B experiments: variants and their traffic shares, assignment by a documented hash,
exposures logged when a list is served, outcomes joined from the event log, and the report
(rates, differences with confidence intervals, sample-ratio mismatch, guardrails)."""
