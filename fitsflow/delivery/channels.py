"""Channels: email over SMTP and a JSON webhook. Each raises Temporary (retry with
backoff) or Permanent (park) so the worker knows what a failure means."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import smtplib
import ssl
import urllib.error
import urllib.request
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from html import escape

from ..clock import system_now
from ..config import SmtpSettings
from ..domain.links import LINK_EVENTS
from ..domain.text import as_one_line
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


def recipient(row: Claimed) -> Address:
    """The To address, built field by field: a display name such as 'Shah, Priya' or
    'Ben <spy@evil.example>, Ben' stays a name and adds no recipient."""
    try:
        return Address(display_name=as_one_line(row.recipient_name or ""), addr_spec=str(row.recipient_email))
    except (ValueError, IndexError, HeaderParseError) as err:
        raise Permanent(f"the recipient's address {row.recipient_email!r} is not valid: {err}") from err


def mail_domain(sender: str) -> str:
    """The domain of the configured From address (the Message-ID's right-hand side)."""
    _, _, domain = sender.rpartition("@")
    domain = as_one_line(domain).strip(" >").lower()
    return domain if re.fullmatch(r"[a-z0-9.-]+", domain) else "localhost"


def message_id(row: Claimed, domain: str) -> str:
    """The same for every attempt at one outbox row (its id and when it was queued), so a
    mail client or server can drop a duplicate delivery."""
    queued = row.created_at or datetime(1970, 1, 1, tzinfo=UTC)
    return f"<fitsflow.{row.id}.{int(queued.timestamp() * 1_000_000)}@{domain}>"


def subject_of(row: Claimed) -> str:
    """The subject, always with the change reference (every audience's notice included)."""
    subject = as_one_line(row.subject)
    ref = as_one_line(row.change_ref)
    return f"[{ref}] {subject}" if ref and ref not in subject else subject


def build_email(row: Claimed, *, sender: str, base_url: str) -> EmailMessage:
    """Plain text and HTML parts, the change reference in the subject, a link back; the
    headers real mail systems expect (Date, a stable Message-ID on the mail domain, and
    Auto-Submitted so out-of-office replies are not sent back)."""
    link = _link(base_url, row.payload)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient(row)
    message["Subject"] = subject_of(row)
    message["Date"] = format_datetime(row.created_at or system_now())
    message["Message-ID"] = message_id(row, mail_domain(sender))
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834
    message["X-Auto-Response-Suppress"] = "All"  # the same, for Exchange
    message["X-Fitsflow-Outbox-Id"] = str(row.id)
    action = "Choose your password" if row.event in LINK_EVENTS else ""
    text = f"{row.body}\n\n{action or 'Open it in fitsflow'}: {link}\n"
    message.set_content(text)
    html = (f"<p>{escape(row.body).replace(chr(10), '<br>')}</p>"
            f'<p><a href="{escape(link, quote=True)}">'
            f'{escape(action or "Open " + (row.change_ref or "fitsflow") + " in fitsflow")}</a></p>')
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
            # The envelope names the one recipient, whatever the headers say.
            self._client.send_message(message, to_addrs=[str(row.recipient_email)])
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


_CHAT_MARKUP = re.compile(r"([\\`*_~\[\]()|])")


def chat_safe(text: str) -> str:
    """People's text as plain text in Slack and Teams: no mentions (<!channel>, <@U1>),
    no disguised links (<http://x|click>, [click](http://x)), no formatting."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _CHAT_MARKUP.sub(r"\\\1", text)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over ``timestamp.body``: a receiver recomputes it
    with the shared secret and refuses a stale timestamp."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookChannel:
    """A JSON POST per event, signed; 5xx, 429, time-outs and refused connections are temporary."""

    def __init__(self, url: str, timeout: float, base_url: str, secret: str):
        self.url, self.timeout, self.base_url, self.secret = url, timeout, base_url, secret

    def send(self, row: Claimed) -> None:
        body = json.dumps({"text": chat_safe(as_one_line(row.subject)), "event": row.event,
                           "ref": row.change_ref, "summary": chat_safe(row.body),
                           "link": _link(self.base_url, row.payload), "outbox_id": row.id}).encode()
        # The receiver checks freshness against its own clock: the machine's time, not business time.
        timestamp = str(int(system_now().timestamp()))
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json", "X-Fitsflow-Timestamp": timestamp,
            "X-Fitsflow-Signature": signature(self.secret, timestamp, body)})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                response.read()
        except urllib.error.HTTPError as err:
            err.close()
            kind = Temporary if err.code >= 500 or err.code == 429 else Permanent
            raise kind(f"webhook answered {err.code}") from err
        except (urllib.error.URLError, TimeoutError, OSError) as err:
            raise Temporary(f"webhook unreachable: {err}") from err
