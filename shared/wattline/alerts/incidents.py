"""Incidents: conditions that share a cause are one notification.

Per device, a voltage-zero outage, an offline (LWT or silence) and the channels' gaps that begin while it lasts are
one incident, with the local days whose low coverage it overlaps; a site outage is one incident for the site that
takes in every device's silence and outage inside it.
The primary (the most telling condition: site outage, voltage-zero outage, offline, gap — earliest first) carries
the notification and lists its members; every member keeps its own dedup key and ledger row, with the incident's
key beside it. Every other kind is an incident of one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from wattline.alerts.model import SITE, Alert, AlertKind

# Lower ranks lead an incident.
_RANK = {AlertKind.OUTAGE: 1, AlertKind.OFFLINE: 2, AlertKind.GAP: 3, AlertKind.LOW_COVERAGE: 4}


@dataclass
class Incident:
    primary: Alert
    members: list[Alert] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.primary.key

    def admits(self, alert: Alert, slack: timedelta) -> bool:
        """The alert began while the primary lasted (± slack), on the same device — any device for a site outage."""
        primary = self.primary
        if alert.kind not in _RANK or primary.kind not in _RANK or primary.kind is AlertKind.LOW_COVERAGE:
            return False
        if primary.device_id not in (SITE, alert.device_id):
            return False
        if alert.kind is AlertKind.LOW_COVERAGE:  # a day the incident overlaps
            return (
                alert.end is not None
                and alert.end > primary.start
                and (primary.end is None or alert.start < primary.end)
            )
        if alert.start < primary.start - slack:
            return False
        return primary.end is None or alert.start <= primary.end + slack


def _rank(alert: Alert) -> tuple[int, datetime]:
    site_first = 0 if alert.device_id == SITE else _RANK.get(alert.kind, 9)
    return (site_first, alert.start)


def group_incidents(alerts: Iterable[Alert], *, slack: timedelta) -> list[Incident]:
    """Every alert in exactly one incident; deterministic for the same alerts whatever their order."""
    incidents: list[Incident] = []
    for alert in sorted(
        alerts, key=lambda a: (*_rank(a), a.kind.value, a.device_id, -1 if a.channel is None else a.channel)
    ):
        home = next((incident for incident in incidents if incident.admits(alert, slack)), None)
        if home is None:
            incidents.append(Incident(alert))
        else:
            home.members.append(alert)
    return incidents
