"""`batch_objects` gives the same objects whether the lines wait in memory or in temporary files."""

from __future__ import annotations

import random

from wattline.importers import Message, batch_objects

GEN1 = "shellies/shellyem-B8D6E3/emeter/{}/power"
GEN2 = "shellyproem50-08f9e0e67204/events/rpc"
DAY_MS = 1_795_132_800_000


def shuffled_messages() -> list[Message]:
    rnd = random.Random(7)
    messages = [
        Message(
            rnd.choice([GEN1.format(rnd.randrange(2)), GEN2, "stray/topic"]),
            f"{rnd.random() * 1000:.1f}".encode(),
            DAY_MS + rnd.randrange(3 * 86_400_000),
        )
        for _ in range(3_000)
    ]
    messages += messages[:50]  # the same receive times again: the sort must keep input order
    return messages


def test_spilling_to_temporary_files_changes_no_object() -> None:
    # Given messages of several devices and days, out of order, some with equal receive times
    messages = shuffled_messages()
    # When they are batched in memory, and with every line spilled to temporary files at once
    in_memory = list(batch_objects(messages, batch_lines=100))
    spilled = list(batch_objects(messages, batch_lines=100, spill_bytes=1))
    # Then the keys and bytes are the same
    assert len(in_memory) > 6
    assert spilled == in_memory
