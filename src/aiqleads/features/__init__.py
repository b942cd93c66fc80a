"""Features for scoring: behaviour from the event log, the market around a lead, the lead's own
facts, and the feature store (`feature_values`) that keeps them by entity, set and version."""
