"""Delivering outbox rows: channels (email, webhook) and the worker that drives them."""
