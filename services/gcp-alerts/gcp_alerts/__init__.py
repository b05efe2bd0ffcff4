"""gcp-alerts: the `detect` function and the notification subscribers (email, Slack, local outbox)."""
