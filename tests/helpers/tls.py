"""Throw-away certificate authorities for TLS tests on 127.0.0.1 (valid for a day, never stored).

``make_ca`` creates a CA; ``CertificateAuthority.issue`` a leaf certificate it signs, for a
server (its host names and addresses, by default ``localhost`` and ``127.0.0.1``, in its
subject alternative names) or a client. Files are
PEM, keys unencrypted, written into the test's temporary folder.
"""

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Issued:
    """A certificate and its key, as PEM files."""

    cert: Path
    key: Path


def _write_key(key, path: Path) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def _alternative_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(subject: x509.Name, issuer: x509.Name, public_key) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


@dataclass(frozen=True)
class CertificateAuthority:
    """A CA: its certificate file (the bundle clients trust) and what signs the leaves."""

    name: str
    cert: Path
    folder: Path
    key: object

    def issue(
        self, common_name: str, server: bool, hosts: tuple[str, ...] = ("localhost", "127.0.0.1")
    ) -> Issued:
        """A leaf certificate signed by this CA: for a server on ``hosts``, or for a client."""
        key = ec.generate_private_key(ec.SECP256R1())
        ca = x509.load_pem_x509_certificate(self.cert.read_bytes())
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = _builder(_name(common_name), ca.subject, key.public_key()).add_extension(
            x509.ExtendedKeyUsage([usage]), critical=False
        )
        if server:
            names = [_alternative_name(host) for host in hosts]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        stem = self.folder / f"{self.name}-{common_name}"
        cert_path = stem.with_suffix(".pem")
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return Issued(cert_path, _write_key(key, stem.with_suffix(".key")))


def make_ca(folder: Path, name: str) -> CertificateAuthority:
    """A new self-signed CA whose certificate is ``<folder>/<name>-ca.pem``."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(f"household-sounds test CA {name}")
    cert = (
        _builder(subject, subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = folder / f"{name}-ca.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return CertificateAuthority(name, path, folder, key)
