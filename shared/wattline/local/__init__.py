"""Local stand-ins for cloud plumbing (event relays, embedded stack helpers) used by tests and the demo."""
