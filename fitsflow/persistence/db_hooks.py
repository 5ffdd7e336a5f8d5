"""Keys shared between the transaction manager and the stores that hook into it."""

# session.info key: callables run, in order, just before a write transaction commits.
BEFORE_COMMIT = "fitsflow_before_commit"
# session.info key: the notification events also sent to the webhook (absent: webhook off).
WEBHOOK_EVENTS = "fitsflow_webhook_events"
# session.info key: recipient rules per notification event (from [notify]).
NOTIFY_RULES = "fitsflow_notify_rules"
