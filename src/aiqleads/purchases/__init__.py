"""What a buyer does after purchase: its purchases, the CRM export, returns."""
