"""The formats wattline writes and reads, one module each, so every producer and consumer agrees byte for byte.

- `readings`: the daily readings file: its line (one writer, `reading_line`), bytes and Reading reader.
- `columns`: the same file as numpy arrays (the loader's reader; `written_columns`: what it reads from the file the
  writer makes of given readings, without the file), apart so the writer needs no numpy.
- `messages`: the `energy.updated` Pub/Sub message.
- `frames`: the bulk framing of JSON Lines inputs (stored envelopes, capture lines) on a C-speed decoder.
- `blocks`: a whole block of those lines decoded by one call (numpy checks its lines), apart so `frames` needs no
  numpy.
"""
