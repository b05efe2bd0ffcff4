"""The batch base64 decoder agrees with binascii's strict mode, text by text: the same bytes, None where it refuses."""

from __future__ import annotations

import base64
import binascii
import functools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wattline.formats.frames import decode_base64_each, decode_each

PROPERTY = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STRICT = functools.partial(binascii.a2b_base64, strict_mode=True)

near_base64 = st.text(alphabet=st.sampled_from("ABCQRSabcz0189+/=-_ \n\r.é\x00"), max_size=14) | st.binary(
    max_size=12
).map(lambda data: base64.b64encode(data).decode())


@PROPERTY
@given(texts=st.lists(near_base64, max_size=12))
def test_a_batch_decodes_as_binascii_strict_decodes_each_text(texts: list[str]) -> None:
    # Given texts that are base64, nearly base64 (bad padding, url-safe or stray characters, whitespace) or not
    # When they are decoded as a batch
    # Then each is what binascii's strict mode makes of it alone, None where it refuses
    assert decode_base64_each(texts) == decode_each(STRICT, texts)
