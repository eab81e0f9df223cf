"""Billing: invoices with gapless numbers, credit notes, payments through Stripe, webhooks exactly once."""
