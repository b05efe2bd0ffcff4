"""Gen2State: the last full status of each Gen2 meter component, overlaid with each NotifyStatus delta."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Entry:
    fields: dict[str, Any]
    ts_ms: float
    full: bool


@dataclass
class Gen2State:
    """Last known status per (device_id, component), e.g. ("shellyproem50-08f9e0e67204", "em1:0").

    Gen2+ `NotifyStatus` carries only the fields that changed; readings parsed from it carry only those fields
    (nothing is invented). Consumers who want the full picture pass one Gen2State to every parse call of a device's
    messages (in time order) and read it here. Rules:
    - a full status (`NotifyFullStatus`, `<prefix>/status/<component>`, a `Shelly.GetStatus` result) replaces the
      component's state;
    - a `NotifyStatus` delta is overlaid field by field (nested objects merged);
    - an update older than the state's timestamp is ignored (late or redelivered messages cannot roll state back);
    - only messages that parsed into readings update the state; a counter the device reported as -1 is not
      overlaid (the last known value stays).
    Only meter components (em, em1, emdata, em1data) are kept.
    """

    _entries: dict[tuple[str, str], _Entry] = field(default_factory=dict)

    def apply(self, device_id: str, component: str, fields: Mapping[str, Any], *, ts_ms: float, full: bool) -> bool:
        """Record one component status; returns False when it was older than the state and ignored."""
        key = (device_id, component)
        entry = self._entries.get(key)
        if entry is not None and ts_ms < entry.ts_ms:
            return False
        if full or entry is None:
            self._entries[key] = _Entry(_copy(fields), ts_ms, full)
        else:
            _overlay(entry.fields, fields)
            entry.ts_ms = ts_ms
        return True

    def get(self, device_id: str, component: str) -> dict[str, Any] | None:
        """A copy of the component's current state (all fields known so far), or None."""
        entry = self._entries.get((device_id, component))
        return copy.deepcopy(entry.fields) if entry is not None else None

    def updated_ms(self, device_id: str, component: str) -> float | None:
        """When the component's state was last updated (message time, ms since the epoch)."""
        entry = self._entries.get((device_id, component))
        return entry.ts_ms if entry is not None else None

    def has_full(self, device_id: str, component: str) -> bool:
        """True once a full status was seen (before that the state holds only the deltas seen so far)."""
        entry = self._entries.get((device_id, component))
        return entry is not None and entry.full

    def components(self, device_id: str) -> dict[str, dict[str, Any]]:
        """Every known component of one device, as copies."""
        return {comp: copy.deepcopy(e.fields) for (dev, comp), e in self._entries.items() if dev == device_id}

    def devices(self) -> list[str]:
        return sorted({dev for dev, _ in self._entries})

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(list(self._entries))


def _overlay(target: dict[str, Any], delta: Mapping[str, Any]) -> None:
    stack: list[tuple[dict[str, Any], Mapping[str, Any]]] = [(target, delta)]
    while stack:
        into, source = stack.pop()
        for key, value in source.items():
            current = into.get(key)
            if isinstance(value, dict) and isinstance(current, dict):
                stack.append((current, value))
            elif isinstance(value, (dict, list)):
                into[key] = copy.deepcopy(value)
            else:
                into[key] = value


def _copy(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A copy that shares nothing mutable with `fields` (component statuses are flat: copy nested values only)."""
    return {k: copy.deepcopy(v) if isinstance(v, (dict, list)) else v for k, v in fields.items()}
