"""The settings of `wattline serve`, apart from the service itself so that `wattline --help` reads their defaults
without importing the pipeline the service runs (the aggregator, the watchdog, numpy)."""

from __future__ import annotations

from pathlib import Path

from pydantic import ConfigDict, Field, SecretStr

from wattline.env_settings import EnvSettings


class ServeSettings(EnvSettings):
    """WATTLINE_MQTT_* and WATTLINE_SERVE_* (environment or `<home>/wattline.toml`)."""

    model_config = ConfigDict(extra="ignore")
    env_prefix = "WATTLINE_"

    mqtt_host: str = Field("127.0.0.1", description="the MQTT broker the meters publish to")
    mqtt_port: int = Field(1883, ge=1, le=65535, description="its port (8883 is the usual one with TLS)")
    mqtt_tls: bool = Field(False, description="connect with TLS")
    mqtt_ca_file: Path | None = Field(None, description="CA bundle to trust for TLS (default: the system's)")
    mqtt_username: str | None = Field(None, description="broker user name")
    mqtt_password: SecretStr | None = Field(None, description="broker password")
    mqtt_client_id: str | None = Field(None, description="persistent-session client id (default: one per home)")
    serve_batch_seconds: float = Field(60.0, gt=0, le=900, description="raw objects are written this often")
    serve_tick_seconds: float = Field(60.0, gt=0, le=3600, description="how often due work and silence are checked")
    serve_dashboard_port: int = Field(8787, ge=0, le=65535, description="dashboard on 127.0.0.1; 0 turns it off")
