"""Channels: email over SMTP and a JSON webhook. Each raises Temporary (retry with
backoff) or Permanent (park) so the worker knows what a failure means."""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.utils import make_msgid
from html import escape

from ..config import SmtpSettings
from ..persistence.outbox_store import Claimed


class DeliveryError(Exception):
    """A failed delivery; ``temporary`` says whether trying again may help."""

    temporary = True


class Temporary(DeliveryError):
    temporary = True


class Permanent(DeliveryError):
    temporary = False


def _link(base_url: str, payload: str) -> str:
    try:
        path = json.loads(payload).get("link", "")
    except ValueError:
        path = ""
    return base_url.rstrip("/") + path if path else base_url


def build_email(row: Claimed, *, sender: str, base_url: str) -> EmailMessage:
    """Plain text and HTML parts, the change reference in the subject, a link back."""
    link = _link(base_url, row.payload)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = f"{row.recipient_name} <{row.recipient_email}>" if row.recipient_name else str(
        row.recipient_email)
    message["Subject"] = row.subject
    # One Message-ID per outbox row: a duplicate delivery is recognisable downstream.
    message["Message-ID"] = make_msgid(idstring=f"outbox-{row.id}", domain="fitsflow")
    message["X-Fitsflow-Outbox-Id"] = str(row.id)
    text = f"{row.body}\n\nOpen it in fitsflow: {link}\n"
    message.set_content(text)
    html = (f"<p>{escape(row.body).replace(chr(10), '<br>')}</p>"
            f'<p><a href="{escape(link, quote=True)}">Open {escape(row.change_ref or "fitsflow")} '
            f"in fitsflow</a></p>")
    message.add_alternative(f"<!doctype html><html><body>{html}</body></html>", subtype="html")
    return message


def _classify(err: Exception) -> DeliveryError:
    """What an SMTP failure means: 4xx, time-outs and lost connections are temporary."""
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in err.recipients.values()]
        kind: type[DeliveryError] = Temporary if all(400 <= c < 500 for c in codes) else Permanent
        return kind(f"recipient refused: {err.recipients}")
    if isinstance(err, smtplib.SMTPResponseException):
        kind = Temporary if 400 <= err.smtp_code < 500 else Permanent
        return kind(f"SMTP {err.smtp_code}: {err.smtp_error!r}")
    if isinstance(err, smtplib.SMTPServerDisconnected | TimeoutError | ConnectionError):
        return Temporary(f"SMTP connection failed: {err}")
    return Temporary(f"SMTP unreachable: {err}")


class EmailChannel:
    """SMTP delivery: 4xx replies, time-outs and refused connections are temporary;
    5xx replies are permanent. One connection serves a batch (``close`` ends it);
    any failure drops it and the next message reconnects."""

    def __init__(self, settings: SmtpSettings, base_url: str):
        self.settings = settings
        self.base_url = base_url
        self._client: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        timeout = float(s.timeout_seconds)
        if s.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=timeout,
                                                    context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(s.host, s.port, timeout=timeout)
            if s.security == "starttls":
                client.starttls(context=ssl.create_default_context())
        if s.username:
            client.login(s.username, s.password)
        return client

    def send(self, row: Claimed) -> None:
        if not row.recipient_email:
            raise Permanent("the recipient has no email address")
        message = build_email(row, sender=self.settings.from_address, base_url=self.base_url)
        try:
            if self._client is None:
                self._client = self._connect()
            self._client.send_message(message)
        except (smtplib.SMTPException, OSError) as err:
            self._drop()
            raise _classify(err) from err

    def close(self) -> None:
        """End the batch's connection politely."""
        if self._client is not None:
            try:
                self._client.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._client = None

    def _drop(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except OSError:
                pass
            self._client = None


class WebhookChannel:
    """A JSON POST per event; 5xx, 429, time-outs and refused connections are temporary."""

    def __init__(self, url: str, timeout: float, base_url: str):
        self.url, self.timeout, self.base_url = url, timeout, base_url

    def send(self, row: Claimed) -> None:
        body = json.dumps({"text": row.subject, "event": row.event, "ref": row.change_ref,
                           "summary": row.body, "link": _link(self.base_url, row.payload),
                           "outbox_id": row.id}).encode()
        request = urllib.request.Request(self.url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                response.read()
        except urllib.error.HTTPError as err:
            err.close()
            kind = Temporary if err.code >= 500 or err.code == 429 else Permanent
            raise kind(f"webhook answered {err.code}") from err
        except (urllib.error.URLError, TimeoutError, OSError) as err:
            raise Temporary(f"webhook unreachable: {err}") from err
