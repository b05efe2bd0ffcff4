"""Detection thresholds: one pydantic model, defaults documented in docs/alerts.md."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Thresholds(BaseModel):
    """Every number the detectors compare against. Durations in seconds, power in W, voltage in V."""

    model_config = ConfigDict(frozen=True)

    gap_s: float = Field(600.0, gt=0, description="no power sample on a channel for longer than this is a gap")
    min_day_coverage: float = Field(0.9, ge=0, le=1, description="a local day sampled less than this is flagged")
    offline_s: float = Field(600.0, gt=0, description="no message at all from a device for longer is offline")
    site_min_devices: int = Field(2, ge=1, description="a site outage needs at least this many meters silent")
    site_onset_s: float = Field(300.0, ge=0, description="a site outage: every meter fell silent within this span")
    outage_voltage_v: float = Field(10.0, ge=0, description="a voltage below this is an outage (voltage ≈ 0)")
    nominal_voltage_v: float = Field(230.0, gt=0, description="EN 50160 nominal voltage")
    voltage_tolerance: float = Field(0.10, gt=0, lt=1, description="EN 50160 band: nominal ± this fraction")
    voltage_min_s: float = Field(60.0, ge=0, description="a voltage excursion must last longer than this")
    rated_max_power_w: float = Field(11_000.0, gt=0, description="the meter's rated maximum power")
    spike_k: float = Field(5.0, gt=0, description="k in median + k·1.4826·MAD for the hour-of-week baseline")
    spike_floor_w: float = Field(300.0, ge=0, description="minimum margin above the median, in W")
    spike_min_history: int = Field(4, ge=1, description="same-hour-of-week history needed before judging")
    mismatch_abs_wh: float = Field(25.0, ge=0, description="integral vs counter: absolute tolerance (Wh)")
    mismatch_rel: float = Field(0.10, ge=0, description="integral vs counter: relative tolerance")
    mismatch_min_span_s: float = Field(1800.0, gt=0, description="compare only over at least this much of an hour")

    @property
    def voltage_low_v(self) -> float:
        return self.nominal_voltage_v * (1 - self.voltage_tolerance)

    @property
    def voltage_high_v(self) -> float:
        return self.nominal_voltage_v * (1 + self.voltage_tolerance)
