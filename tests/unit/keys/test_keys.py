import pytest

from wattline.keys import is_safe_device_id


@pytest.mark.parametrize("device_id", ["shellyem-A4CF12F454A3", "shellyproem50-08f9e0e67204", "a", "x" * 64, "a.b_c-d"])
def test_real_device_ids_are_safe_path_segments(device_id: str) -> None:
    assert is_safe_device_id(device_id)


@pytest.mark.parametrize(
    "device_id", ["", "a/b", "..", "a..b", ".hidden", "x" * 65, "abc\n", "abc\x00", "a b", "ünï", "abc\r"]
)
def test_ids_that_could_escape_or_bend_an_object_key_are_unsafe(device_id: str) -> None:
    assert not is_safe_device_id(device_id)
