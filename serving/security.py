"""How a client reaches a protected TF Serving: TLS (CA bundle, client certificate) and credentials.

TF Serving behind an HTTPS ingress, an Istio gateway or IAP, or started with its own gRPC TLS
(``--ssl_config_file``), is reached with ``Security``: TLS against the system's CAs or a CA
bundle (``ca_file``), optionally presenting a client certificate (mTLS), and credentials sent
with every call: a bearer token (``authorization: Bearer ...``) and extra headers (gRPC
metadata or HTTP headers alike). A token or header goes only over TLS or to a loopback address
(a sidecar proxy that adds TLS itself); anything else is refused before a byte is sent. A TLS
failure (an untrusted or mismatched certificate) is reported as ``UNAVAILABLE`` naming the
handshake, so it is not mistaken for a server that is down. Standard library, ``grpc`` and
files only: no TensorFlow.
"""

import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

import grpc

LOOPBACK_NAMES = ("localhost",)
TLS_FAILURE_MARKS = ("CERTIFICATE", "handshake", "SSL", "TSI_")


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise FileNotFoundError(f"cannot read the {what} {path}: {error.strerror}") from None


def host_of(target: str) -> str:
    """The host of ``host:port`` (``[::1]:8500`` → ``::1``)."""
    host = target.rsplit(":", 1)[0] if ":" in target else target
    return host.strip("[]")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine (``localhost``, ``127.0.0.0/8``, ``::1``)."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Security:
    """TLS and credentials for the calls to one server (the default: plaintext, none).

    Attributes:
        tls: Use TLS, trusting the system's CAs unless ``ca_file`` is given.
        ca_file: PEM bundle of the CAs that sign the server's certificate (implies TLS).
        cert_file: PEM client certificate to present (mTLS; needs ``key_file``).
        key_file: Its PEM private key.
        token: Bearer token sent as ``authorization: Bearer <token>``.
        headers: Extra ``(name, value)`` headers / gRPC metadata sent with every call.
    """

    tls: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    token: str | None = None
    headers: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if bool(self.cert_file) != bool(self.key_file):
            raise ValueError("a client certificate needs its key: give both, or neither")
        if self.token is not None and not self.token.strip():
            raise ValueError("the bearer token is empty")
        for name, _ in self.headers:
            if not name or name.strip() != name or ":" in name:
                raise ValueError(f"bad header name {name!r}")
            if name.lower() == "authorization" and self.token:
                raise ValueError("give the token or an authorization header, not both")

    @property
    def uses_tls(self) -> bool:
        """Whether connections are TLS (asked for, or implied by a CA or client certificate)."""
        return self.tls or bool(self.ca_file or self.cert_file)

    def check(self, target: str) -> None:
        """Refuses credentials that would travel in plaintext beyond this machine.

        Raises:
            ValueError: A token or header for a non-loopback ``target`` without TLS.
        """
        if (self.token or self.headers) and not self.uses_tls and not is_loopback(host_of(target)):
            raise ValueError(
                f"credentials for {target} would be sent in plaintext: use TLS (--tls or "
                "--ca-file), or a loopback address (a local proxy that adds TLS)"
            )

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """The credentials as gRPC metadata (keys lower-case, as gRPC requires)."""
        pairs = [(name.lower(), value) for name, value in self.headers]
        if self.token:
            pairs.append(("authorization", f"Bearer {self.token.strip()}"))
        return tuple(pairs)

    def http_headers(self) -> dict[str, str]:
        """The credentials as HTTP headers."""
        headers = dict(self.headers)
        if self.token:
            headers["Authorization"] = f"Bearer {self.token.strip()}"
        return headers

    def scheme(self) -> str:
        """``https`` or ``http``, for the REST API."""
        return "https" if self.uses_tls else "http"

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context of the REST client (None for plaintext)."""
        if not self.uses_tls:
            return None
        context = ssl.create_default_context()
        if self.ca_file:
            _read(self.ca_file, "CA bundle")  # a clear message for a missing file
            context.load_verify_locations(cafile=self.ca_file)
        if self.cert_file:
            _read(self.cert_file, "client certificate")
            _read(self.key_file, "client key")
            context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def grpc_channel(self, target: str, options: list[tuple[str, object]]) -> grpc.Channel:
        """A gRPC channel to ``target``: secure with TLS, else insecure."""
        self.check(target)
        if not self.uses_tls:
            return grpc.insecure_channel(target, options=options)
        credentials = grpc.ssl_channel_credentials(
            root_certificates=_read(self.ca_file, "CA bundle") if self.ca_file else None,
            private_key=_read(self.key_file, "client key") if self.key_file else None,
            certificate_chain=_read(self.cert_file, "client certificate")
            if self.cert_file
            else None,
        )
        return grpc.secure_channel(target, credentials, options=options)


def explain_failure(target: str, code: str, message: str) -> str:
    """A connection failure's message, saying so when the TLS handshake is what failed."""
    if code == "UNAVAILABLE" and any(mark in message for mark in TLS_FAILURE_MARKS):
        return (
            f"TLS handshake with {target} failed (is its certificate signed by a CA in "
            f"--ca-file and issued for this host name; does it want a client certificate?): "
            f"{message}"
        )
    return message
