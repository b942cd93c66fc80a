"""The cart: timed holds on leads by tier (DESIGN.md section 2, Holds and Tiers)."""
