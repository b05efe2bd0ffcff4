"""The site-wide defaults, in one place: the settings model (`wattline.settings.Settings`) reads them, and so do the
pure modules' function and options defaults (the energy engine, the loader, detection, the warehouses), so one
number never disagrees with itself. Change a site's value with its setting (WATTLINE_TIMEZONE, …), not here."""

from __future__ import annotations

TIMEZONE = "Europe/Kyiv"  # WATTLINE_TIMEZONE: local days and tariff hours
MAX_GAP_S = 300.0  # WATTLINE_MAX_GAP_SECONDS: a longer interval between samples is a gap
MAX_POWER_W = 25_000.0  # WATTLINE_MAX_POWER_W: plausibility limit for counter jumps and values
