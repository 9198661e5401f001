"""Rendering a notice (inbox and e-mail, in the recipient's language) and the SMTP settings."""

from __future__ import annotations

import hashlib
import html
import os
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from app.models import Notification
from workflow.notices import catalogue


@dataclass(frozen=True)
class MailSettings:
    """From the app config, else the environment (SMTP_HOST, SMTP_PORT, SMTP_USER, SMTP_PASSWORD,
    SMTP_STARTTLS=1, SMTP_TIMEOUT seconds, MAIL_FROM, BASE_URL)."""

    host: str = "127.0.0.1"
    port: int = 25
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0
    sender: str = "GrantFlow <no-reply@grantflow.local>"
    base_url: str = "http://127.0.0.1:8000"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MailSettings:
        def get(name: str, default: Any) -> Any:
            value = config.get(name)
            return value if value is not None else os.environ.get(name, default)

        return cls(host=str(get("SMTP_HOST", cls.host)), port=int(get("SMTP_PORT", cls.port)),
                   user=get("SMTP_USER", None) or None, password=get("SMTP_PASSWORD", None) or None,
                   starttls=str(get("SMTP_STARTTLS", "0")) in ("1", "true", "True"),
                   timeout=float(get("SMTP_TIMEOUT", cls.timeout)), sender=str(get("MAIL_FROM", cls.sender)),
                   base_url=str(get("BASE_URL", cls.base_url)).rstrip("/"))


def render(notification: Notification, base_url: str = "") -> tuple[str, str]:
    """(subject, plain-text body) in the notification's language."""
    lang = notification.lang
    params = {k: (v.get(lang) or v.get("vi", "")) if isinstance(v, dict) else v
              for k, v in (notification.params or {}).items()}
    params["url"] = f"{base_url}{notification.link}"
    template = catalogue().get(notification.key)
    if template is None:  # a key dropped from the catalogue since: still show something
        return notification.key, params["url"]
    return template.render(lang, params)


def message_id(notification: Notification, domain: str = "grantflow.local") -> str:
    """Stable per outbox row (its idempotency key), so a resent copy is recognisably the same message."""
    digest = hashlib.sha256(notification.dedup_key.encode()).hexdigest()[:24]
    return f"<n{notification.id}.{digest}@{domain}>"


def build_email(notification: Notification, settings: MailSettings) -> EmailMessage:
    subject, body = render(notification, settings.base_url)
    url = f"{settings.base_url}{notification.link}"
    msg = EmailMessage()
    msg["From"] = settings.sender
    msg["To"] = notification.email_to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id(notification)
    msg["Content-Language"] = notification.lang
    msg.set_content(body)
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in body.splitlines() if line.strip())
    link_text = "Mở hồ sơ" if notification.lang == "vi" else "Open the proposal"
    msg.add_alternative(
        f'<!doctype html><html lang="{notification.lang}"><body>{paragraphs}'
        f'<p><a href="{html.escape(url)}">{link_text}</a></p></body></html>', subtype="html")
    return msg
