"""Checkout: the cart's holds become an order, paid through the payment gateway, and the
order's leads sold and unlocked to the buyer (DESIGN.md section 2, Checkout)."""
