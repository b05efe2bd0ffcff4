"""The exact energy engine: irregular power samples and counters in, energy per local hour out."""
