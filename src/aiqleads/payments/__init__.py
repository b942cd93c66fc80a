"""Payments: the gateways behind one interface (`payments.gateways`), and later the ledger."""
