"""The formats wattline writes and reads, one module each, so every producer and consumer agrees byte for byte.

- `readings`: the canonical reading line of the daily files (its one writer, `reading_line`).
- `frames`: the bulk framing of JSON Lines inputs (stored envelopes, capture lines) on a C-speed decoder.
"""
