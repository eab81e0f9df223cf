"""Calendar subscriptions: private feed tokens and RFC 5545 rendering of audits and deadlines."""
