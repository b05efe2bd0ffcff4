"""`batch_objects` gives the objects built one message at a time, whether the lines wait in memory or in temporary
files."""

from __future__ import annotations

import base64
import hashlib
import random
from collections import defaultdict
from datetime import date

from wattline.bridge import batch_body, batch_key, raw_segments, utc_day
from wattline.formats.frames import envelope_line
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


def reference_objects(messages: list[Message], batch_lines: int) -> list[tuple[str, bytes]]:
    """The objects by their definition, one message at a time: the envelope line of each message under each raw
    partition of its topic and its UTC day, each group sorted by receive time (stable), `batch_lines` per object."""
    groups: dict[tuple[date, str], list[tuple[int, bytes]]] = defaultdict(list)
    for topic, payload, received_ms in messages:
        line = envelope_line(topic, received_ms, None, base64.b64encode(payload).decode("ascii")).encode("ascii")
        for segment in raw_segments(topic, keep_unmatched=True):
            groups[(utc_day(received_ms), segment)].append((received_ms, line))
    objects = []
    for (day, device), members in sorted(groups.items()):
        members.sort(key=lambda member: member[0])
        for first in range(0, len(members), batch_lines):
            chunk = members[first : first + batch_lines]
            data = batch_body([line for _ms, line in chunk])
            objects.append(
                (batch_key(day, device, chunk[0][0], "import-" + hashlib.sha256(data).hexdigest()[:20]), data)
            )
    return objects


def test_the_objects_are_the_envelope_lines_grouped_sorted_and_batched_one_message_at_a_time() -> None:
    # Given messages of several devices, days and topics, out of order, some with equal receive times
    messages = shuffled_messages()
    # When they are batched (written a block at a time)
    objects = list(batch_objects(messages, batch_lines=100))
    # Then they are the objects built one message at a time
    assert objects == reference_objects(messages, 100)


def test_messages_in_order_across_a_day_boundary_are_batched_as_one_message_at_a_time() -> None:
    # Given a capture in receive order (the common case: no sort), crossing midnight UTC, runs over several blocks
    messages = [Message(GEN2, f"{i}".encode(), DAY_MS - 5_000_000 + i * 997) for i in range(12_000)]
    messages.insert(5_000, Message(GEN1.format(0), b"1.0", DAY_MS - 1))
    # When they are batched, in memory and spilled
    # Then they are the objects built one message at a time
    expected = reference_objects(messages, 700)
    assert list(batch_objects(messages, batch_lines=700)) == expected
    assert list(batch_objects(messages, batch_lines=700, spill_bytes=50_000)) == expected
