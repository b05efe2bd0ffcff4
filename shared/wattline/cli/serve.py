"""`wattline serve`: run one home as a self-hosted service (MQTT in, schedule, alerts, dashboard)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from wattline.local.cli_support import HOME_OPTION


def _default(name: str) -> object:
    from wattline.local.serve_settings import ServeSettings

    return ServeSettings.model_fields[name].default


def register(app: typer.Typer) -> None:
    app.command(name="serve")(serve)


def serve(
    home: Path = HOME_OPTION,
    mqtt_host: str = typer.Option(
        None, "--mqtt-host", help=f"Broker host (default: WATTLINE_MQTT_HOST, {_default('mqtt_host')})."
    ),
    mqtt_port: int = typer.Option(
        None, "--mqtt-port", help=f"Broker port (default: WATTLINE_MQTT_PORT, {_default('mqtt_port')})."
    ),
    dashboard_port: int = typer.Option(
        None,
        "--dashboard-port",
        help=f"Dashboard port on 127.0.0.1, 0 for none (default: WATTLINE_SERVE_DASHBOARD_PORT, "
        f"{_default('serve_dashboard_port')}).",
    ),
) -> None:
    """Run the whole pipeline for one home until stopped (SIGTERM, Ctrl-C).

    Subscribes to your MQTT broker (Gen1 shellies/... and Gen2 topics, QoS 1,
    persistent session: messages are acknowledged once stored), writes raw
    envelopes, runs the daily schedule once each UTC day closes (aggregate,
    transfer, load, detect, notify), watches for meters that fall silent, and
    serves the dashboard on http://127.0.0.1:8787/ (it refreshes itself).

    Broker settings: WATTLINE_MQTT_HOST, _PORT, _TLS, _CA_FILE, _USERNAME,
    _PASSWORD, _CLIENT_ID (or the same names in <home>/wattline.toml). One
    writer per home: `wattline run` waits or exits while serve runs; status,
    energy, alerts and report read alongside. A systemd unit example is in
    infra/local/wattline.service; see docs/demo.md."""
    from wattline.cli.failures import exit_on_failure
    from wattline.local.cli_support import resolve
    from wattline.local.runtime import Runtime
    from wattline.local.serve import serve as run_service
    from wattline.local.serve_settings import ServeSettings

    root = resolve(home)
    runtime = Runtime(root)
    overrides: dict[str, Any] = {"mqtt_host": mqtt_host, "mqtt_port": mqtt_port, "serve_dashboard_port": dashboard_port}
    with exit_on_failure("try again"):
        runtime.lock()
        settings = runtime.stage_settings(ServeSettings, **{k: v for k, v in overrides.items() if v is not None})
    target = f"{settings.mqtt_host}:{settings.mqtt_port}"

    def ready(info: dict[str, object]) -> None:
        typer.echo(f"serving {root}: MQTT {target}" + (f", dashboard {info['dashboard']}" if info["dashboard"] else ""))

    try:
        with exit_on_failure("is the broker up? try again"):
            status = run_service(runtime, settings, ready=ready)
    except OSError as exc:
        typer.echo(f"error: cannot reach the MQTT broker at {target}: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        runtime.close()
    typer.echo(f"stopped: {status.messages} messages, {status.ticks} ticks, {status.handled} events handled")
