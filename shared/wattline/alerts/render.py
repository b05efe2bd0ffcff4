"""Human renderings of a notification: an e-mail (subject + plain text) and a Slack Block Kit message."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from wattline.alerts.detect import fmt_duration, fmt_local
from wattline.alerts.model import Alert, AlertEvent, Notification, Severity

_EMOJI = {Severity.INFO: ":information_source:", Severity.WARNING: ":warning:", Severity.CRITICAL: ":rotating_light:"}
_TITLE = {
    "gap": "Gap in the readings",
    "low_coverage": "Day with low coverage",
    "offline": "Meter offline",
    "outage": "Power outage",
    "over_rated": "Power above the rated maximum",
    "spike": "Unusual consumption",
    "energy_mismatch": "Power and counter disagree",
    "counter_reset": "Energy counter reset",
    "voltage": "Voltage outside 230 V ± 10 %",
}


def _where(alert: Alert) -> str:
    where = "the whole site" if alert.device_id == "*" else alert.device_id
    return where if alert.channel is None else f"{where} ch {alert.channel}"


def _span(alert: Alert, tz: ZoneInfo) -> str:
    if alert.end is None:
        return f"since {fmt_local(alert.start, tz)}"
    if alert.end == alert.start:
        return f"at {fmt_local(alert.start, tz)}"
    duration = fmt_duration((alert.end - alert.start).total_seconds())
    return f"{fmt_local(alert.start, tz)} → {fmt_local(alert.end, tz)} ({duration})"


def incident_lines(notification: Notification, tz: ZoneInfo) -> list[str]:
    """The incident in words: how long it lasted and each condition in it (empty for an incident of one)."""
    if not notification.members:
        return []
    everything = (notification.alert, *notification.members)
    start = min(alert.start for alert in everything)
    ends = [alert.end for alert in everything]
    end = None if any(e is None for e in ends) else max(e for e in ends if e is not None)
    whole = Alert.model_validate({**notification.alert.model_dump(), "start": start, "end": end})
    lines = [f"Incident: {len(everything)} conditions with one cause, {_span(whole, tz)}"]
    for alert in everything:
        lines.append(f"  - {alert.kind.value} on {_where(alert)}: {_span(alert, tz)}")
    return lines


def title(notification: Notification) -> str:
    alert = notification.alert
    where = _where(alert)
    if notification.members:
        where += f" + {len(notification.members)} related"
    state = "resolved" if notification.event is AlertEvent.RESOLVED else "open"
    if notification.event is AlertEvent.RESOLVED and notification.alert.end == notification.alert.start:
        state = "event"
    return f"{_TITLE.get(alert.kind.value, alert.kind.value)} — {where} ({state})"


def _when(notification: Notification, tz: ZoneInfo) -> str:
    return _span(notification.alert, tz)


def email(notification: Notification, tz: ZoneInfo) -> tuple[str, str]:
    """(subject, plain-text body)."""
    alert = notification.alert
    subject = f"[wattline] {alert.severity.value.upper()}: {title(notification)}"
    incident = incident_lines(notification, tz)
    lines = [
        alert.message,
        *(["", *incident] if incident else []),
        "",
        f"When:     {_when(notification, tz)}",
        f"Kind:     {alert.kind.value}",
        f"Severity: {alert.severity.value}",
        f"Device:   {alert.device_id}" + ("" if alert.channel is None else f" channel {alert.channel}"),
        f"State:    {notification.event.value}",
        f"Key:      {alert.key}",
        "",
        "Details:",
        json.dumps(alert.details, indent=2, sort_keys=True, default=str),
        "",
        "-- wattline alerts (list them with `wattline alerts`)",
    ]
    return subject, "\n".join(lines) + "\n"


def slack(notification: Notification, tz: ZoneInfo) -> dict[str, Any]:
    """An Incoming Webhook payload: `text` fallback plus Block Kit header, fields and context."""
    alert = notification.alert
    resolved = notification.event is AlertEvent.RESOLVED
    emoji = ":white_check_mark:" if resolved and alert.end != alert.start else _EMOJI[alert.severity]
    heading = f"{emoji} {title(notification)}"
    numbers = ", ".join(f"{k}={_short(v)}" for k, v in sorted(alert.details.items()))
    return {
        "text": f"{heading}: {alert.message}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": heading[:150], "emoji": True}},
            {"type": "section", "text": {"type": "mrkdwn", "text": alert.message[:3000]}},
            *_incident_block(notification, tz),
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*When*\n{_when(notification, tz)}"},
                    {"type": "mrkdwn", "text": f"*Severity*\n{alert.severity.value}"},
                    {"type": "mrkdwn", "text": f"*Device*\n`{alert.device_id}`"},
                    {"type": "mrkdwn", "text": f"*Channel*\n{'–' if alert.channel is None else alert.channel}"},
                ],
            },
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"`{alert.kind.value}` · {numbers[:2500]} · key `{alert.key}`"}
                ],
            },
        ],
    }


def _incident_block(notification: Notification, tz: ZoneInfo) -> list[dict[str, Any]]:
    lines = incident_lines(notification, tz)
    if not lines:
        return []
    text = "*" + lines[0] + "*\n" + "\n".join(f"• {line.strip()[2:]}" for line in lines[1:])
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}]


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)
