"""The key shared between the transaction manager and the stores that hook into it."""

# session.info key: callables run, in order, just before a write transaction commits
# (the change's version-checked save, the audit chain's batched insert).
BEFORE_COMMIT = "fitsflow_before_commit"
