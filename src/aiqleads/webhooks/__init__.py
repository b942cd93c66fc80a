"""Outbound webhooks for enterprise API clients: endpoints an account registers, deliveries
signed in Stripe's scheme and retried with backoff. `service.emit` records the deliveries of an
event inside the caller's transaction; the `webhooks.deliver` task sends them after commit."""
