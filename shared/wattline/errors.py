"""The two kinds of failure every handler distinguishes (see docs/architecture.md)."""


class WattlineError(Exception):
    """Base class of wattline's own errors."""


class PermanentError(WattlineError):
    """Bad input or configuration: retrying cannot help. Quarantine or dead-letter, log, and ack."""


class TransientError(WattlineError):
    """A dependency failed for now (throttling, 5xx, timeouts): raise so the platform retries."""


class NotFoundError(PermanentError):
    """An object, table or message that should exist does not."""


class PreconditionFailedError(WattlineError):
    """A conditional write lost its race (create-only write to an existing key, generation mismatch)."""
