"""Notification fixtures: a real SMTP server (aiosmtpd) on a loopback port of 8650-8659, started by the test,
that records every message it accepts; the stage people with e-mail addresses; a worker bound to the server."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from app.models import User
from app.notifications.mail import MailSettings
from app.notifications.worker import Worker, WorkerSettings
from tests.stages.conftest import people, walk  # noqa: F401  (fixtures shared with the stage tests)

PORTS = range(8650, 8660)


def free_port(exclude: set[int] = frozenset()) -> int:  # type: ignore[assignment]
    for port in PORTS:
        if port in exclude:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 8650-8659")


class Recorder:
    """Accepts (or refuses, when ``refuse`` is set) and keeps each message parsed."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.refuse: str | None = None
        self.lock = threading.Lock()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted"

    def ids(self) -> list[str]:
        with self.lock:
            return [str(m["Message-ID"]) for m in self.messages]

    def to(self, address: str) -> list[email.message.EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp() -> Iterator[SimpleNamespace]:
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    yield SimpleNamespace(port=port, recorder=recorder)
    controller.stop()


@pytest.fixture
def worker(app: Any, smtp: SimpleNamespace) -> Worker:
    return make_worker(app, smtp.port)


def make_worker(app: Any, port: int, timeout: float = 2.0, **settings: Any) -> Worker:
    mail = MailSettings(port=port, timeout=timeout, base_url="http://grantflow.test")
    return Worker(app.extensions["db_engine"], mail, WorkerSettings(**{"retry_base_seconds": 0, **settings}))


def address(user: Any) -> str:
    return f"{user.username}@example.vn"


@pytest.fixture
def mailable(db: Any, people: SimpleNamespace) -> SimpleNamespace:  # noqa: F811
    """The stage people with e-mail addresses; the applicant reads English."""
    everyone = [people.applicant, people.commune, people.officer, people.director, people.auditor, *people.members]
    for person in everyone:
        user = db.get(User, person.id)
        user.email = address(user)
        if person is people.applicant:
            user.language = "en"
    db.commit()
    return people
