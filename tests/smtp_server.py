"""A real SMTP server on 127.0.0.1 for tests and benches (aiosmtpd in a thread).

>>> with SmtpServer() as server:                                   # doctest: +SKIP
...     smtplib.SMTP(server.host, server.port).sendmail(...)
...     server.handler.received[0].message["Subject"]

Modes: plain, ``starttls`` (STARTTLS required) and ``ssl`` (implicit TLS), with a self-signed
certificate made by :func:`make_certificate`; ``users`` turns on AUTH (only after TLS).
The handler can refuse recipients and drop the connection after N accepted messages, to test
what the sender does when a server misbehaves.
"""

from __future__ import annotations

import socket
import ssl
import threading
import warnings
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    user: str | None = None  # the AUTH login, when there was one

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=default)  # type: ignore[return-value]


class RecordingHandler:
    """Keeps every accepted message.

    ``refuse``: recipient addresses answered with 550. ``drop_after``: once that many messages
    were accepted, the next ``drops`` DATA commands (None: all) are answered by closing the
    connection (``drop_mode="close"``) or with ``421`` (``drop_mode="421"``), without keeping
    the message.
    """

    def __init__(self, *, refuse: tuple[str, ...] = (), drop_after: int | None = None,
                 drops: int | None = None, drop_mode: str = "close") -> None:
        self.refuse = {a.lower() for a in refuse}
        self.drop_after = drop_after
        self.drops = drops
        self.drop_mode = drop_mode
        self.received: list[Received] = []
        self.dropped = 0
        self.sessions = 0
        self._lock = threading.Lock()

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          mail_options: list[str]) -> str:
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address.lower() in self.refuse:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            if self.drop_after is not None and len(self.received) >= self.drop_after and (
                    self.drops is None or self.dropped < self.drops):
                self.dropped += 1
                if self.drop_mode == "421":
                    return "421 4.3.2 Service shutting down, try later"
                server.transport.close()
                return "451 4.3.0 connection closed"
            user = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) \
                else None
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                          bytes(envelope.original_content or envelope.content), user))
        return "250 2.0.0 OK queued"

    def by_recipient(self) -> dict[str, list[Received]]:
        out: dict[str, list[Received]] = {}
        for received in self.received:
            for rcpt in received.rcpt_tos:
                out.setdefault(rcpt.lower(), []).append(received)
        return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (cert, key). Made with the
    ``cryptography`` package, so the tests need no openssl command on the machine."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class SmtpServer:
    """aiosmtpd on 127.0.0.1 in a background thread. Use as a context manager."""

    def __init__(self, handler: RecordingHandler | None = None, *, mode: str = "plain",
                 certificate: tuple[Path, Path] | None = None,
                 users: dict[str, str] | None = None, port: int | None = None) -> None:
        self.handler = handler or RecordingHandler()
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.users = users or {}
        kwargs: dict[str, Any] = {}
        if mode in ("starttls", "ssl"):
            if certificate is None:
                raise ValueError(f"mode {mode!r} needs a certificate")
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(certificate[0]), str(certificate[1]))
            if mode == "starttls":
                kwargs.update(tls_context=context, require_starttls=True)
            else:
                kwargs.update(ssl_context=context)
        if self.users:
            kwargs.update(authenticator=self._authenticate, auth_required=True,
                          auth_require_tls=mode == "starttls")
        with warnings.catch_warnings():
            # Implicit TLS (mode "ssl") is encrypted although aiosmtpd only counts STARTTLS.
            warnings.simplefilter("ignore", UserWarning)
            self.controller = Controller(self.handler, hostname=self.host, port=self.port, **kwargs)

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        session.auth_data = auth_data
        if isinstance(auth_data, LoginPassword):
            login, password = auth_data.login.decode(), auth_data.password.decode()
            if self.users.get(login) == password:
                return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
