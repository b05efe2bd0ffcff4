"""Secrets: the environment value when set, else Secret Manager by resource name (lazy import, optional).

`google-cloud-secret-manager` is in no bundle: only a deployment that names a secret needs it (deploy.sh's
`--set-secrets` injection does not). Such a deployment adds it to this service's pyproject.toml dependencies and
runs `uv lock`; the built requirements.txt is exported from the lock with hashes, so a line appended by hand fails.
"""

from __future__ import annotations

from pydantic import SecretStr

from wattline.errors import PermanentError, TransientError


def resolve_secret(value: SecretStr | None, secret_name: str | None, *, what: str) -> str | None:
    if value is not None:
        return value.get_secret_value()
    if not secret_name:
        return None
    name = secret_name if "/versions/" in secret_name else f"{secret_name}/versions/latest"
    try:
        from google.api_core import exceptions as api_exceptions
        from google.cloud import secretmanager  # type: ignore[attr-defined,unused-ignore]
    except ImportError as exc:
        raise PermanentError(f"{what}: install google-cloud-secret-manager to read {secret_name}") from exc
    try:
        response = secretmanager.SecretManagerServiceClient().access_secret_version(name=name)
    except (api_exceptions.NotFound, api_exceptions.PermissionDenied) as exc:
        raise PermanentError(f"{what}: cannot read secret {name}; grant secretAccessor on it") from exc
    except api_exceptions.GoogleAPICallError as exc:
        raise TransientError(f"{what}: Secret Manager failed ({type(exc).__name__})") from exc
    text: str = response.payload.data.decode("utf-8").strip()
    return text
