"""The 88 real payloads of tests/fixtures/shelly-payloads.json, turned into the envelopes they arrive as.

Most records are HTTP/RPC captures without an MQTT topic; each is wrapped in the real MQTT shape that carries the
same body (see tests/fixtures/README-parsing.md and docs/parsing.md):
- Gen1 `/status` (and `/emeter/<i>` bodies, wrapped into `emeters[]`) → `shellies/<id>/status`;
- Gen2+ `Shelly.GetStatus` results → an RPC response frame on `<client>/rpc` (the shape of record p087) and a
  `NotifyFullStatus` on `<id>/events/rpc` (the envelope shape of record p083);
- `EM1.GetStatus` bodies → `<id>/status/em1:<n>` and a `NotifyStatus` carrying `em1:<n>`;
- device-log `em:0` status changes → a `NotifyStatus` carrying `em:0` with the logged device `ts`;
- CoIoT frames → `shellies/<id>/status` (they must be refused: CoAP is not collected).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wattline.keys import is_safe_device_id
from wattline.models import Envelope

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "shelly-payloads.json"
NOW_MS = int(datetime(2026, 11, 27, 12, 0, tzinfo=UTC).timestamp() * 1000)
RECEIVED_MS = NOW_MS - 60_000

GEN1_TOPIC_FIELDS = {
    "power": "power_w",
    "reactive_power": "reactive_power_var",
    "voltage": "voltage_v",
    "pf": "pf",
    "current": "current_a",
    "total": "energy_total_wh",
    "total_returned": "energy_returned_total_wh",
}
GEN1_STATUS_FIELDS = {
    "power": "power_w",
    "reactive": "reactive_power_var",
    "voltage": "voltage_v",
    "pf": "pf",
    "current": "current_a",
    "total": "energy_total_wh",
    "total_returned": "energy_returned_total_wh",
}
EM1_FIELDS = {
    "act_power": "power_w",
    "aprt_power": "apparent_power_va",
    "voltage": "voltage_v",
    "current": "current_a",
    "pf": "pf",
    "freq": "freq_hz",
}
EM1DATA_FIELDS = {"total_act_energy": "energy_total_wh", "total_act_ret_energy": "energy_returned_total_wh"}


@dataclass
class Case:
    """One way a real record reaches the parser, and what it must give."""

    record_id: str
    shape: str
    envelope: Envelope
    expected: dict[int | None, dict[str, Any]] = field(default_factory=dict)
    reason: str | None = None
    ts_s: float | None = None

    @property
    def name(self) -> str:
        return f"{self.record_id}-{self.shape}"


@functools.cache
def load_records() -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(FIXTURE.read_text())["records"]
    return records


def device_id_of(record: dict[str, Any]) -> str:
    raw = record.get("device_id")
    if isinstance(raw, str) and is_safe_device_id(raw):
        return raw
    return f"device-{record['id']}"


def _envelope(topic: str, payload: Any) -> Envelope:
    return Envelope(topic=topic, received_ms=RECEIVED_MS, payload=payload)


def _gen1_status_expected(body: dict[str, Any]) -> dict[int | None, dict[str, Any]]:
    expected: dict[int | None, dict[str, Any]] = {}
    for channel, emeter in enumerate(body.get("emeters", [])):
        values = {dst: float(emeter[src]) for src, dst in GEN1_STATUS_FIELDS.items() if emeter.get(src) is not None}
        if values and emeter.get("is_valid") is not False:
            expected[channel] = values
    relays = body.get("relays")
    if relays:
        expected[None] = {"relay": "overpower" if relays[0]["overpower"] else ("on" if relays[0]["ison"] else "off")}
    return expected


def _gen2_expected(components: dict[str, Any]) -> dict[int | None, dict[str, Any]]:
    expected: dict[int | None, dict[str, Any]] = {}
    for key, body in components.items():
        kind, _, index_text = key.partition(":")
        if kind not in ("em", "em1", "emdata", "em1data"):
            continue
        index = int(index_text)
        if kind in ("em1", "em1data"):
            mapping = EM1_FIELDS if kind == "em1" else EM1DATA_FIELDS
            for src, dst in mapping.items():
                if body.get(src) is not None:
                    expected.setdefault(index, {})[dst] = float(body[src])
        else:
            mapping = EM1_FIELDS if kind == "em" else EM1DATA_FIELDS
            for phase_index, phase in enumerate("abc"):
                for src, dst in mapping.items():
                    if body.get(f"{phase}_{src}") is not None:
                        expected.setdefault(3 * index + phase_index, {})[dst] = float(body[f"{phase}_{src}"])
    return expected


def _device_ts(record: dict[str, Any]) -> float | None:
    match = re.search(r"(?:device ts|sys\.unixtime) (\d+(?:\.\d+)?)", record.get("received_at") or "")
    if match:
        return float(match[1])
    unixtime = (record["payload"] or {}).get("sys", {}).get("unixtime") if isinstance(record["payload"], dict) else None
    return float(unixtime) if unixtime else None


def cases_for(record: dict[str, Any]) -> list[Case]:
    rid, category, body = record["id"], record["category"], record["payload"]
    device = device_id_of(record)
    if category == "mqtt_gen1":
        quantity = record["topic"].rsplit("/", 1)[1]
        if record["topic"].endswith("/relay/0"):
            return [Case(rid, "topic", _envelope(record["topic"], record["raw_text"]), {None: {"relay": "off"}})]
        channel, text = int(record["topic"].split("/")[3]), record["raw_text"]
        expected = {channel: {GEN1_TOPIC_FIELDS[quantity]: float(record["raw_text"])}}
        return [
            Case(rid, "text", _envelope(record["topic"], record["raw_text"]), expected),
            Case(
                rid, "b64", Envelope(topic=record["topic"], received_ms=RECEIVED_MS, payload_b64=_b64(text)), expected
            ),
        ]
    if category in ("http_status_snapshot", "http_status_full") and "emeters" in body:
        topic = f"shellies/{device}/status"
        return [
            Case(rid, "gen1-status", _envelope(topic, body), _gen1_status_expected(body)),
            Case(rid, "gen1-status-text", _envelope(topic, json.dumps(body)), _gen1_status_expected(body)),
        ]
    if category == "http_emeter_status":
        wrapped = {"emeters": [body]}
        topic = f"shellies/{device}/status"
        return [Case(rid, "gen1-status", _envelope(topic, wrapped), _gen1_status_expected(wrapped))]
    if category == "http_status_snapshot":
        expected = _gen2_expected(body)
        ts = _device_ts(record)
        rpc = {"id": 1, "src": device, "dst": "wattline-GetStatus", "result": body}
        cases = [Case(rid, "rpc-response", _envelope("wattline-GetStatus/rpc", json.dumps(rpc)), expected)]
        params = dict(body, ts=ts) if ts is not None else dict(body)
        notify = {"src": device, "dst": f"{device}/events", "method": "NotifyFullStatus", "params": params}
        cases.append(Case(rid, "notify-full", _envelope(f"{device}/events/rpc", json.dumps(notify)), expected, ts_s=ts))
        for key, component in body.items():
            if key.split(":")[0] in ("em", "em1", "emdata", "em1data"):
                frame = notify_status_like_p083(device, key, component, ts)
                wanted = _gen2_expected({key: component})
                shape = f"notify-{key}"
                if wanted:
                    cases.append(
                        Case(rid, shape, _envelope(f"{device}/events/rpc", frame), wanted, ts_s=frame_ts(frame))
                    )
                else:
                    cases.append(Case(rid, shape, _envelope(f"{device}/events/rpc", frame), reason="no_readings"))
        return cases
    if category == "rpc_component_status":
        key = f"em1:{body['id']}"
        expected = _gen2_expected({key: body})
        params = {"ts": 1699963200.5, key: body}
        notify = {"src": device, "dst": f"{device}/events", "method": "NotifyStatus", "params": params}
        return [
            Case(rid, "status-topic", _envelope(f"{device}/status/{key}", json.dumps(body)), expected),
            Case(rid, "notify", _envelope(f"{device}/events/rpc", json.dumps(notify)), expected, ts_s=1699963200.5),
        ]
    if category == "device_log_status_change":
        ts = _device_ts(record)
        params = {"ts": ts, "em:0": body}
        notify = {"src": device, "dst": f"{device}/events", "method": "NotifyStatus", "params": params}
        expected = _gen2_expected({"em:0": body})
        return [
            Case(rid, "notify", _envelope(f"{device}/events/rpc", json.dumps(notify)), expected, ts_s=ts),
            Case(rid, "status-topic", _envelope(f"{device}/status/em:0", record["raw_text"]), expected),
        ]
    if category == "coap_status":
        return [Case(rid, "coiot", _envelope(f"shellies/{device}/status", body), reason="unsupported_message")]
    if category == "mqtt_gen2_status_topic":
        key = record["topic"].rsplit("/", 1)[1]
        return [Case(rid, "topic", _envelope(record["topic"], record["raw_text"]), _gen2_expected({key: body}))]
    if category == "mqtt_gen2_rpc_response":
        expected = _gen2_expected(body["result"])
        return [Case(rid, "topic", _envelope(record["topic"], record["raw_text"]), expected)]
    if category in ("mqtt_gen2_notifystatus_non_em", "mqtt_gen2_status_topic_non_em"):
        return [Case(rid, "topic", _envelope(record["topic"], record["raw_text"]), reason="unsupported_message")]
    raise AssertionError(f"no envelope shape for category {category!r} ({rid})")


def notify_status_like_p083(device: str, key: str, component: dict[str, Any], ts: float | None) -> str:
    """A NotifyStatus carrying one real component body, in the exact envelope shape of the real frame p083."""
    template = next(r for r in load_records() if r["id"] == "p083")["payload"]
    params = {"ts": round(ts if ts is not None else RECEIVED_MS / 1000 - 1, 2), key: component}
    return json.dumps(dict(template, src=device, dst=f"{device}/events", params=params))


def frame_ts(frame: str) -> float:
    ts: float = json.loads(frame)["params"]["ts"]
    return ts


def all_cases() -> list[Case]:
    return [case for record in load_records() for case in cases_for(record)]


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()
