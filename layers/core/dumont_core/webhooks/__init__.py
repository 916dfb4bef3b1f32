"""Webhooks: subscriptions, and the delivery of domain events to them over HTTP."""
