"""An https receiver is reached at the address that was checked, yet its certificate is checked against
the URL's host, named in TLS SNI and `Host`: a receiver whose certificate names that host gets the POST,
one whose certificate names another host is refused before anything is sent."""

from __future__ import annotations

import datetime
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from dumont_core.webhooks.addresses import AddressPolicy, Target, check
from dumont_core.webhooks.sender import HttpPoster
from tests.fakes.webhooks import resolving

HOST = "hooks.example.com"
NOW = datetime.datetime(2026, 12, 2, tzinfo=datetime.UTC)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@dataclass(frozen=True)
class Authority:
    """A certificate authority made for one test, and the receivers' certificates it signs."""

    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    @property
    def certificate(self) -> x509.Certificate:
        public = self.key.public_key()
        return (
            x509.CertificateBuilder()
            .subject_name(_name("Test receivers' CA"))
            .issuer_name(_name("Test receivers' CA"))
            .public_key(public)
            .serial_number(1)
            .not_valid_before(NOW - datetime.timedelta(days=1))
            .not_valid_after(NOW + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self.key, hashes.SHA256())
        )

    def trusted(self) -> ssl.SSLContext:
        """What the poster checks receivers against: this authority only."""
        context = ssl.create_default_context()
        context.load_verify_locations(
            cadata=self.certificate.public_bytes(serialization.Encoding.PEM).decode()
        )
        return context

    def serving(self, host: str, directory: Path) -> ssl.SSLContext:
        """A server's TLS context with a certificate for `host`, signed by this authority."""
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(host))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=1))
            .not_valid_after(NOW + datetime.timedelta(days=3650))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )
        chain, key_file = directory / f"{host}.pem", directory / f"{host}.key"
        chain.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chain, key_file)
        return context


@dataclass
class TlsReceiver:
    """An https server on 127.0.0.1 that answers 204 and keeps the SNI, `Host` and body of each POST."""

    context: ssl.SSLContext
    received: list[tuple[str | None, str, bytes]] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((receiver.server_names[-1], self.headers["Host"], body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        def note_server_name(_: Any, server_name: str | None, __: Any) -> None:
            receiver.server_names.append(server_name)

        self.context.sni_callback = note_server_name
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = self.context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])


@pytest.fixture
def authority() -> Authority:
    return Authority()


@pytest.fixture
def receiver_for(tmp_path: Path, authority: Authority) -> Iterator[Any]:
    started: list[TlsReceiver] = []

    def start(certificate_host: str) -> TlsReceiver:
        receiver = TlsReceiver(authority.serving(certificate_host, tmp_path))
        receiver.thread.start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.server.shutdown()
        receiver.server.server_close()
        receiver.thread.join(timeout=5)


def _target(port: int) -> Target:
    resolver: Any = resolving(hooks_example_com="127.0.0.1")
    target = check(f"https://{HOST}:{port}/dumont", AddressPolicy(allow_loopback=True), resolver)
    assert target is not None
    return target


def test_a_receiver_whose_certificate_names_the_urls_host_gets_the_post(
    authority: Authority, receiver_for: Any
) -> None:
    receiver = receiver_for(HOST)
    target = _target(receiver.port)
    assert target.connect_url == f"https://127.0.0.1:{receiver.port}/dumont"

    attempt = HttpPoster(5, verify=authority.trusted()).post(target, b'{"event":"webhook.ping"}', {})

    assert (attempt.response_code, attempt.error) == (204, None)
    assert receiver.received == [(HOST, f"{HOST}:{receiver.port}", b'{"event":"webhook.ping"}')]


def test_a_receiver_whose_certificate_names_another_host_is_refused(
    authority: Authority, receiver_for: Any
) -> None:
    receiver = receiver_for("elsewhere.example.org")

    attempt = HttpPoster(5, verify=authority.trusted()).post(_target(receiver.port), b"{}", {})

    assert attempt.response_code is None
    assert attempt.error is not None and "CERTIFICATE_VERIFY_FAILED" in attempt.error
    assert receiver.received == []
    assert receiver.server_names == [HOST], "the host was named in SNI, not the address"
