"""Device simulator: Shelly Gen1 and Gen2 energy meters on simulated time, deterministic with a seed.

Public API:
- simulate(*, devices=2, days=2, seed=7, start=None, timezone="Europe/Kyiv", faults=True, today=None) -> Scenario
- Scenario: .devices (DeviceSpec), .faults (Fault), .messages (SimMessage, sorted by received_ms),
            .capture_lines() (the `wattline analyze` capture format), .true_kwh, .dates()
- SimMessage(topic, payload, received_ms, retain): one message as the broker received it.
- FaultKind: reboot, outage, spike, duplicates, late.

Load shapes come from `wattline.simulator.loadshape` (synthetic household, the packaged UCI minute series, solar).
"""

from wattline.simulator.scenario import DeviceSpec, Fault, FaultKind, LoadShape, Scenario, SimMessage, simulate

__all__ = ["DeviceSpec", "Fault", "FaultKind", "LoadShape", "Scenario", "SimMessage", "simulate"]
