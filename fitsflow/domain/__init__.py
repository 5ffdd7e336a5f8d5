"""The domain: plain types, vocabulary, rules and guards (no database, no web)."""
