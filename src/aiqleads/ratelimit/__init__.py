"""Request rate limits per tier, per client address and per login (see `limiter`)."""

from aiqleads.ratelimit.limiter import RateLimited, RequestLimiter, Verdict

__all__ = ["RateLimited", "RequestLimiter", "Verdict"]
