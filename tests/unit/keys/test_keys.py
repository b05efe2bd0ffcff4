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


def test_a_start_after_key_selects_exactly_the_objects_received_from_that_instant() -> None:
    from datetime import date

    from wattline.keys import raw_key, raw_received_ms, raw_start_after

    day, device = date(2026, 11, 27), "shellyem-A4CF12F454A3"
    start_after = raw_start_after(day, device, 1_764_201_600_000)
    keys = [raw_key(day, device, 1_764_201_600_000 + d, "0f8fad5b-d9cb-469f-a165-70867728950e") for d in (-1, 0, 1)]
    assert [key > start_after for key in keys] == [False, True, True]
    assert raw_received_ms(keys[1].rpartition("/")[2]) == 1_764_201_600_000
    assert raw_received_ms("wattline-raw-1-2026-11-27-10-00-00-abc") is None


def test_a_watchdog_marker_lives_under_state_watchdog() -> None:
    from wattline.keys import watchdog_marker_key

    assert watchdog_marker_key("0123456789abcdef0123456789abcdef") == "state/watchdog/0123456789abcdef0123456789abcdef"
