"""Notification sinks over the standard library: SMTP with STARTTLS, a Slack Incoming Webhook, a local outbox.

Failures are translated into wattline's two kinds: a 4xx SMTP reply, a 429/5xx HTTP status, a timeout or a
refused connection is transient (raise, the platform retries); a 5xx SMTP reply, any other HTTP 4xx, a failed
login or a refused STARTTLS is permanent (dead-letter it, retrying cannot help).
"""

from __future__ import annotations

import json
import smtplib
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from zoneinfo import ZoneInfo

from wattline.alerts import render
from wattline.alerts.model import Notification
from wattline.errors import PermanentError, TransientError


class SmtpSink:
    name = "email"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        recipients: Sequence[str],
        tz: ZoneInfo,
        user: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        ca_file: str | None = None,
        timeout_s: float = 20.0,
    ) -> None:
        if not recipients:
            raise PermanentError("e-mail sink: no recipients; set WATTLINE_ALERTS_EMAIL_TO")
        self.host, self.port, self.sender, self.recipients = host, port, sender, list(recipients)
        self.tz, self.user, self.password, self.starttls = tz, user, password, starttls
        self.ca_file, self.timeout_s = ca_file, timeout_s

    def message(self, notification: Notification) -> EmailMessage:
        subject, body = render.email(notification, self.tz)
        msg = EmailMessage()
        msg["Subject"] = subject
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.recipients)
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(idstring=notification.token.replace(":", "."), domain="wattline")
        msg["X-Wattline-Alert-Key"] = notification.alert.key
        msg.set_content(body)
        return msg

    def send(self, notification: Notification) -> None:
        msg = self.message(notification)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                smtp.ehlo()
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context(cafile=self.ca_file))
                    smtp.ehlo()
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(msg)
        except smtplib.SMTPNotSupportedError as exc:
            raise PermanentError(f"SMTP {self.host}:{self.port} does not offer STARTTLS (or AUTH)") from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentError(f"SMTP login as {self.user!r} refused; check the password secret") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            kind = TransientError if any(400 <= c < 500 for c in codes) else PermanentError
            raise kind(f"SMTP refused the recipients: {sorted(exc.recipients)}") from exc
        except smtplib.SMTPResponseException as exc:
            kind = TransientError if 400 <= exc.smtp_code < 500 else PermanentError
            raise kind(f"SMTP {self.host}:{self.port} replied {exc.smtp_code}") from exc
        except ssl.SSLCertVerificationError as exc:
            raise PermanentError(f"SMTP {self.host}: certificate not trusted ({exc.verify_message})") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientError(f"SMTP {self.host}:{self.port}: {type(exc).__name__}; will retry") from exc


class SlackWebhookSink:
    name = "slack"

    def __init__(self, *, url: str, tz: ZoneInfo, timeout_s: float = 10.0) -> None:
        if not url.startswith(("https://", "http://")):
            raise PermanentError("Slack sink: the webhook URL must be http(s); set the webhook secret")
        self._url, self.tz, self.timeout_s = url, tz, timeout_s

    def send(self, notification: Notification) -> None:
        body = json.dumps(render.slack(notification, self.tz)).encode()
        request = urllib.request.Request(
            self._url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            # The webhook URL is a secret: never put it in a message.
            if exc.code == 429 or exc.code >= 500:
                raise TransientError(f"Slack webhook answered {exc.code}; will retry") from exc
            raise PermanentError(f"Slack webhook answered {exc.code} {exc.reason}; check the webhook URL") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise TransientError(f"Slack webhook unreachable ({type(exc).__name__}); will retry") from exc


class OutboxSink:
    """Appends one JSON line per notification to a file: the sink used when nothing else is configured."""

    name = "outbox"

    def __init__(self, path: Path, tz: ZoneInfo) -> None:
        self.path, self.tz = path, tz
        self._lock = threading.Lock()

    def send(self, notification: Notification) -> None:
        subject, _ = render.email(notification, self.tz)
        record = json.loads(notification.to_json())
        record["title"] = subject
        record["delivered_at"] = datetime.now(tz=UTC).isoformat()
        line = json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
