"""Constructed sites for the solar tests: a grid clamp (channel 0) and a PV clamp (channel 1) on one device."""

from __future__ import annotations

from helpers.hourly import KYIV, hour, local, local_day_hours

from wattline.models import HourlyEnergy

SITE = "shellyproem50-08f9e0e67204"
__all__ = ["KYIV", "SITE", "constant_site_day", "hour", "local", "local_day_hours"]


def constant_site_day(day: str, *, device_id: str = SITE) -> list[HourlyEnergy]:
    """Every local hour of `day` alike: the grid channel imports 100 Wh and exports 30 Wh, the PV channel measures
    50 Wh in the export direction (generation) and 2 Wh in the import direction (inverter standby)."""
    rows = []
    for start in local_day_hours(day):
        rows.append(hour(device_id, start, channel=0, import_wh=100.0, export_wh=30.0))
        rows.append(hour(device_id, start, channel=1, import_wh=2.0, export_wh=50.0))
    return rows
