"""Simulated Shelly meters: real Gen1 and Gen2 MQTT message formats on simulated time, with scripted faults.

`simulate()` returns a `Scenario`: the devices, the faults it scripted, and every message a broker would have
received, each with the time it was received (simulated time, milliseconds since the epoch). The same seed gives
byte-identical messages.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import numpy as np

from wattline import defaults
from wattline.models import Generation
from wattline.simulator import loadshape
from wattline.simulator.loadshape import FloatArray

STEP_S = 10  # resolution of the simulated physics
GEN1_PERIOD_S = 30  # Gen1 mqtt_update_period default
GEN2_PERIODIC_S = 60  # Gen2 periodic status report
# A Gen2 meter notifies a power change once it moved by 10 W and by 5 % of the last reported value (read as
# "both", which keeps a noisy base load from notifying every few seconds); a full report follows every 60 s.
GEN2_POWER_THRESHOLD_W = 10.0
GEN2_POWER_THRESHOLD_RATIO = 0.05
SPIKE_W = 14_500.0  # above the default rated_max_power_w (11 kW), below the plausibility limit (25 kW)
OUTAGE_MINUTES = 90
LATE_MINUTES = 12


class FaultKind(StrEnum):
    REBOOT = "reboot"  # LWT offline/online, counters report -1 once, then restart from 0
    OUTAGE = "outage"  # voltage 0, LWT offline, silence, LWT online
    SPIKE = "spike"  # one absurd but plausible power sample
    DUPLICATES = "duplicates"  # messages delivered twice (QoS 1 redelivery / rule action retry)
    LATE = "late"  # Gen2 notifications received long after their params.ts


class LoadShape(StrEnum):
    UCI = "uci"
    HOUSEHOLD = "household"


@dataclass(frozen=True)
class SimMessage:
    """One MQTT message as the broker received it."""

    topic: str
    payload: bytes
    received_ms: int
    retain: bool = False

    def capture_line(self) -> str:
        """The `wattline analyze` capture format: {"topic", "payload", "received_at"} (seconds since the epoch)."""
        record = {
            "topic": self.topic,
            "payload": self.payload.decode("utf-8"),
            "received_at": self.received_ms / 1000,
        }
        return json.dumps(record, separators=(",", ":"))


@dataclass(frozen=True)
class DeviceSpec:
    device_id: str
    generation: Generation
    shape: LoadShape
    solar_channel: int | None = None

    @property
    def channels(self) -> int:
        return 2 if self.solar_channel is not None else 1


@dataclass(frozen=True)
class Fault:
    device_id: str
    kind: FaultKind
    start: datetime
    end: datetime
    messages: int = 0  # duplicates: how many extra copies; late: how many late messages
    detail: str = ""


@dataclass
class Scenario:
    start: datetime
    days: int
    timezone: str
    seed: int
    devices: list[DeviceSpec]
    faults: list[Fault]
    messages: list[SimMessage]
    true_kwh: dict[tuple[str, int, str], float] = field(default_factory=dict)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self._seconds())

    def _seconds(self) -> int:
        zone = ZoneInfo(self.timezone)
        first = self.start.astimezone(zone).date()
        last = datetime.combine(first + timedelta(days=self.days), time(), zone)
        return int((last - self.start).total_seconds())

    def capture_lines(self) -> Iterator[str]:
        for message in self.messages:
            yield message.capture_line()

    def dates(self) -> list[str]:
        first = self.start.astimezone(ZoneInfo(self.timezone)).date()
        return [(first + timedelta(days=offset)).isoformat() for offset in range(self.days)]


def default_start(days: int, zone: ZoneInfo, today: date) -> datetime:
    """Local midnight `days` days before `today`: the simulation covers the last `days` complete local days."""
    return datetime.combine(today - timedelta(days=days), time(), zone).astimezone(UTC)


def device_specs(count: int, rng: np.random.Generator) -> list[DeviceSpec]:
    """A mix of meters: Gen1 EM on the real UCI house, Gen2 Pro EM with a solar channel, then alternating."""
    specs: list[DeviceSpec] = []
    for index in range(count):
        mac = "".join(f"{value:02x}" for value in rng.integers(0, 256, 6))
        if index % 2 == 0:
            shape = LoadShape.UCI if index == 0 else LoadShape.HOUSEHOLD
            specs.append(DeviceSpec(f"shellyem-{mac.upper()}", Generation.GEN1, shape))
        else:
            solar = 1 if index == 1 else None
            specs.append(DeviceSpec(f"shellyproem50-{mac}", Generation.GEN2, LoadShape.HOUSEHOLD, solar))
    return specs


def simulate(
    *,
    devices: int = 2,
    days: int = 2,
    seed: int = 7,
    start: datetime | None = None,
    timezone: str = defaults.TIMEZONE,
    faults: bool = True,
    today: date | None = None,
) -> Scenario:
    """Simulate `devices` meters over `days` local days; scripted faults on the first Gen1 and Gen2 meters."""
    if devices < 1 or days < 1:
        raise ValueError("devices and days must be at least 1")
    zone = ZoneInfo(timezone)
    if start is None:
        start = default_start(days, zone, today or datetime.now(UTC).astimezone(zone).date())
    first_day = start.astimezone(zone).date()
    end = datetime.combine(first_day + timedelta(days=days), time(), zone).astimezone(UTC)
    count = int((end - start).total_seconds()) // STEP_S
    rng = np.random.default_rng(seed)
    specs = device_specs(devices, rng)
    hours = loadshape.local_hours(start, STEP_S, count, zone)
    local_start = start.astimezone(zone)

    messages: list[SimMessage] = []
    scripted: list[Fault] = []
    truth: dict[tuple[str, int, str], float] = {}
    for index, spec in enumerate(specs):
        device_rng = np.random.default_rng([seed, index])
        powers, voltage = _physics(spec, device_rng, hours, local_start)
        plan = _fault_plan(spec, index, start, zone, days) if faults else []
        scripted.extend(plan)
        meter = _Meter(spec, start, powers, voltage, device_rng, plan)
        messages.extend(meter.gen1() if spec.generation is Generation.GEN1 else meter.gen2())
        truth.update(_true_kwh(spec, start, powers, zone))
    messages.sort(key=lambda message: message.received_ms)
    return Scenario(start, days, timezone, seed, specs, scripted, messages, truth)


def _physics(
    spec: DeviceSpec, rng: np.random.Generator, hours: FloatArray, local_start: datetime
) -> tuple[list[FloatArray], FloatArray]:
    if spec.shape is LoadShape.UCI:
        house, voltage = loadshape.uci_driven(local_start, STEP_S, hours.size)
    else:
        house = loadshape.household(rng, hours, STEP_S)
        voltage = loadshape.mains_voltage(rng, hours)
    if spec.solar_channel is None:
        return [house], voltage
    # Channel 0 measures the grid connection, so it sees the house less what the PV covers (negative = export);
    # the solar channel measures the inverter alone.
    pv = loadshape.solar(rng, hours)
    return [house + pv, pv], voltage


def _true_kwh(
    spec: DeviceSpec, start: datetime, powers: list[FloatArray], zone: ZoneInfo
) -> dict[tuple[str, int, str], float]:
    """Net energy each channel really drew per local day (what a perfect meter would count)."""
    totals: dict[tuple[str, int, str], float] = {}
    for channel, power in enumerate(powers):
        for first in range(0, power.size, 360):
            day = (start + timedelta(seconds=first * STEP_S)).astimezone(zone).date().isoformat()
            key = (spec.device_id, channel, day)
            totals[key] = totals.get(key, 0.0) + float(power[first : first + 360].sum()) * STEP_S / 3_600_000
    return totals


def _fault_plan(spec: DeviceSpec, index: int, start: datetime, zone: ZoneInfo, days: int) -> list[Fault]:
    """The scripted faults: on the first Gen1 meter (index 0) and the first Gen2 meter (index 1) only."""
    first_day = start.astimezone(zone).date()
    last_day = first_day + timedelta(days=days - 1)

    def at(day: date, hour: int, minute: int) -> datetime:
        return datetime.combine(day, time(hour, minute), zone).astimezone(UTC)

    device = spec.device_id
    if index == 0:
        return [
            Fault(device, FaultKind.REBOOT, at(first_day, 3, 10), at(first_day, 3, 11), detail="counters -1, then 0"),
            Fault(device, FaultKind.DUPLICATES, at(first_day, 12, 0), at(first_day, 12, 1), messages=5),
            Fault(device, FaultKind.SPIKE, at(last_day, 19, 40), at(last_day, 19, 41), detail=f"{SPIKE_W:.0f} W"),
        ]
    if index == 1:
        outage_start = at(last_day, 10, 0)
        return [
            Fault(device, FaultKind.LATE, at(first_day, 15, 0), at(first_day, 15, 5), messages=5),
            Fault(device, FaultKind.DUPLICATES, at(first_day, 16, 0), at(first_day, 16, 1), messages=3),
            Fault(device, FaultKind.OUTAGE, outage_start, outage_start + timedelta(minutes=OUTAGE_MINUTES)),
        ]
    return []


class _Meter:
    """Turns one device's physics and fault plan into the messages the broker receives."""

    def __init__(
        self,
        spec: DeviceSpec,
        start: datetime,
        powers: list[FloatArray],
        voltage: FloatArray,
        rng: np.random.Generator,
        faults: list[Fault],
    ) -> None:
        self.spec = spec
        self.start_ms = int(start.timestamp() * 1000)
        self.powers = powers
        self.voltage = voltage
        self.rng = rng
        self.faults = {fault.kind: fault for fault in faults}
        self.count = voltage.size
        self.offset_ms = int(rng.integers(0, 9_000))  # devices do not publish in lockstep
        self.pf = [float(rng.uniform(0.82, 0.97)) for _ in powers]

    # ---- helpers -------------------------------------------------------------------------------------------

    def _index(self, moment: datetime) -> int:
        return int((moment.timestamp() * 1000 - self.start_ms) // (STEP_S * 1000))

    def _window(self, kind: FaultKind) -> tuple[int, int] | None:
        fault = self.faults.get(kind)
        if fault is None:
            return None
        return self._index(fault.start), self._index(fault.end)

    def _counters(self, dead: list[tuple[int, int]]) -> list[tuple[FloatArray, FloatArray]]:
        """Cumulative import and export Wh per channel, not counting while the meter is dead (off or rebooting)."""
        counters = []
        for power in self.powers:
            live = power.copy()
            for first, last in dead:
                live[first:last] = 0.0
            step_wh = live * STEP_S / 3600
            counters.append((np.cumsum(np.clip(step_wh, 0, None)), np.cumsum(np.clip(-step_wh, 0, None))))
        return counters

    def _ms(self, index: int) -> int:
        return self.start_ms + index * STEP_S * 1000 + self.offset_ms

    # ---- Gen1 ----------------------------------------------------------------------------------------------

    def gen1(self) -> list[SimMessage]:
        prefix = f"shellies/{self.spec.device_id}"
        out = [SimMessage(f"{prefix}/online", b"true", self._ms(0) - 5_000, retain=True)]
        reboot = self._window(FaultKind.REBOOT)
        counters = self._counters([reboot] if reboot else [])
        spike = self._window(FaultKind.SPIKE)
        dupes = self._window(FaultKind.DUPLICATES)
        every = GEN1_PERIOD_S // STEP_S
        reset_wh = [(0.0, 0.0) for _ in self.powers]
        unavailable_sent = False
        for index in range(0, self.count, every):
            received = self._ms(index) + int(self.rng.integers(0, 400))
            if reboot and reboot[0] <= index < reboot[1]:
                if index - reboot[0] < every:
                    out.append(SimMessage(f"{prefix}/online", b"false", received, retain=True))
                continue
            if reboot and index >= reboot[1] and not unavailable_sent:
                # Back up: LWT online, one cycle of "-1" counters, then counters restarted from zero.
                out.append(SimMessage(f"{prefix}/online", b"true", received - 2_000, retain=True))
                reset_wh = [(float(imp[index]), float(ret[index])) for imp, ret in counters]
                unavailable_sent = True
                cycle = self._gen1_cycle(prefix, index, received, counters, reset_wh, unavailable=True)
            else:
                cycle = self._gen1_cycle(prefix, index, received, counters, reset_wh, unavailable=False)
            if spike and spike[0] <= index < spike[0] + every:
                cycle[0] = SimMessage(cycle[0].topic, f"{SPIKE_W:.2f}".encode(), cycle[0].received_ms)
            out.extend(cycle)
            if dupes and dupes[0] <= index < dupes[0] + every:
                out.extend(cycle)  # the same envelopes again: a rule action retried after a timeout
        return out

    def _gen1_cycle(
        self,
        prefix: str,
        index: int,
        received: int,
        counters: list[tuple[FloatArray, FloatArray]],
        reset_wh: list[tuple[float, float]],
        *,
        unavailable: bool,
    ) -> list[SimMessage]:
        cycle: list[SimMessage] = []
        volts = float(self.voltage[index])
        for channel, power in enumerate(self.powers):
            watts = float(power[index])
            reactive = watts * np.tan(np.arccos(self.pf[channel]))
            imp, ret = counters[channel]
            total = float(imp[index]) - reset_wh[channel][0]
            returned = float(ret[index]) - reset_wh[channel][1]
            values = [
                ("power", f"{watts:.2f}"),
                ("reactive_power", f"{reactive:.2f}"),
                ("voltage", f"{volts:.2f}"),
                ("total", "-1" if unavailable else f"{total:.1f}"),
                ("total_returned", "-1" if unavailable else f"{returned:.1f}"),
            ]
            for offset, (quantity, text) in enumerate(values):
                topic = f"{prefix}/emeter/{channel}/{quantity}"
                cycle.append(SimMessage(topic, text.encode(), received + channel * 6 + offset))
        return cycle

    # ---- Gen2 ----------------------------------------------------------------------------------------------

    def gen2(self) -> list[SimMessage]:
        device = self.spec.device_id
        outage = self._window(FaultKind.OUTAGE)
        late = self._window(FaultKind.LATE)
        dupes = self._window(FaultKind.DUPLICATES)
        counters = self._counters([outage] if outage else [])
        out = [SimMessage(f"{device}/online", b"true", self._ms(0) - 5_000, retain=True)]
        out.append(self._rpc("NotifyFullStatus", 0, self._full_status(0, counters)))
        last = [float(power[0]) for power in self.powers]
        per_minute = 60 // STEP_S
        periodic = GEN2_PERIODIC_S // STEP_S
        late_left = self.faults[FaultKind.LATE].messages if late else 0
        dupes_left = self.faults[FaultKind.DUPLICATES].messages if dupes else 0
        for index in range(1, self.count):
            if outage and outage[0] <= index < outage[1]:
                if index == outage[0]:
                    out.extend(self._outage_begins(index))
                continue
            if outage and index == outage[1]:
                out.append(SimMessage(f"{device}/online", b"true", self._ms(index) - 1_000, retain=True))
                out.append(self._rpc("NotifyFullStatus", index, self._full_status(index, counters)))
                last = [float(power[index]) for power in self.powers]
                continue
            batch: list[SimMessage] = []
            changed = {}
            for channel, power in enumerate(self.powers):
                watts = float(power[index])
                if abs(watts - last[channel]) >= max(
                    GEN2_POWER_THRESHOLD_W, GEN2_POWER_THRESHOLD_RATIO * abs(last[channel])
                ):
                    changed[f"em1:{channel}"] = self._em1(channel, index, full=False)
                    last[channel] = watts
            if changed:
                batch.append(self._rpc("NotifyStatus", index, changed))
            if index % periodic == periodic // 2:
                report = {f"em1:{channel}": self._em1(channel, index, full=True) for channel in range(len(self.powers))}
                batch.append(self._rpc("NotifyStatus", index, report))
                last = [float(power[index]) for power in self.powers]
            if index % per_minute == 0:
                message = self._rpc("NotifyStatus", index, self._em1data(index, counters))
                if late and late[0] <= index and late_left > 0:
                    message = SimMessage(message.topic, message.payload, message.received_ms + LATE_MINUTES * 60_000)
                    late_left -= 1
                batch.append(message)
            out.extend(batch)
            if dupes and dupes[0] <= index and dupes_left > 0 and batch:
                first = batch[0]
                out.append(SimMessage(first.topic, first.payload, first.received_ms + 1_200))
                dupes_left -= 1
        return out

    def _outage_begins(self, index: int) -> list[SimMessage]:
        """Mains lost: the meter reports 0 V and 0 W, then the broker publishes its LWT."""
        zero = {
            f"em1:{channel}": {"id": channel, "voltage": 0.0, "current": 0.0, "act_power": 0.0, "aprt_power": 0.0}
            for channel in range(len(self.powers))
        }
        notice = self._rpc("NotifyStatus", index, zero)
        lwt = SimMessage(f"{self.spec.device_id}/online", b"false", notice.received_ms + 30_000, retain=True)
        return [notice, lwt]

    def _rpc(self, method: str, index: int, params: Mapping[str, object]) -> SimMessage:
        device = self.spec.device_id
        ts_ms = self._ms(index)
        body = {
            "src": device,
            "dst": f"{device}/events",
            "method": method,
            "params": {"ts": round(ts_ms / 1000, 2), **params},
        }
        payload = json.dumps(body, separators=(",", ":")).encode()
        return SimMessage(f"{device}/events/rpc", payload, ts_ms + int(self.rng.integers(30, 250)))

    def _em1(self, channel: int, index: int, *, full: bool) -> dict[str, object]:
        watts = float(self.powers[channel][index])
        volts = float(self.voltage[index])
        apparent = abs(watts) / self.pf[channel] if watts else 4.8
        status: dict[str, object] = {
            "id": channel,
            "act_power": round(watts, 1) + 0.0,
            "aprt_power": round(apparent, 1),
            "current": round(apparent / volts, 3),
        }
        if full:
            status.update({"voltage": round(volts, 1), "pf": round(self.pf[channel] if watts else 0.0, 2)})
            status.update({"freq": 50.0, "calibration": "factory"})
        return status

    def _em1data(self, index: int, counters: list[tuple[FloatArray, FloatArray]]) -> dict[str, object]:
        return {
            f"em1data:{channel}": {
                "id": channel,
                "total_act_energy": round(float(imp[index]), 2),
                "total_act_ret_energy": round(float(ret[index]), 2),
            }
            for channel, (imp, ret) in enumerate(counters)
        }

    def _full_status(self, index: int, counters: list[tuple[FloatArray, FloatArray]]) -> dict[str, object]:
        status: dict[str, object] = {
            f"em1:{channel}": self._em1(channel, index, full=True) for channel in range(len(self.powers))
        }
        status.update(self._em1data(index, counters))
        status["sys"] = {"mac": self.spec.device_id.rsplit("-", 1)[-1].upper(), "unixtime": self._ms(index) // 1000}
        return status
