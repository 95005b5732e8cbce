"""TLS and a bearer token for the development server, so secure clients are tested end to end.

``ServerSecurity`` turns both APIs to TLS with a server certificate and key (gRPC through
``grpc.ssl_server_credentials``, REST by wrapping its socket), optionally requiring a client
certificate signed by ``client_ca_file`` (mTLS), and optionally requiring every call to carry
``authorization: Bearer <token>``: gRPC answers ``UNAUTHENTICATED``, REST 401, otherwise. TF
Serving itself has gRPC TLS (``--ssl_config_file``) but no tokens; in production the token is
checked by what fronts it (an ingress, Istio, IAP), which this stands in for.
"""

import hmac
import ssl
from dataclasses import dataclass
from pathlib import Path

import grpc

UNAUTHENTICATED_MESSAGE = "missing or invalid bearer token (authorization: Bearer <token>)"


@dataclass(frozen=True)
class ServerSecurity:
    """How the development server authenticates itself and its callers (default: neither).

    Attributes:
        cert_file: PEM server certificate (turns on TLS).
        key_file: Its PEM private key.
        client_ca_file: PEM CA bundle; when set, clients must present a certificate it signed.
        token: When set, every call must carry ``authorization: Bearer <token>``.
    """

    cert_file: str | None = None
    key_file: str | None = None
    client_ca_file: str | None = None
    token: str | None = None

    def __post_init__(self) -> None:
        if bool(self.cert_file) != bool(self.key_file):
            raise ValueError("TLS needs the server certificate and its key: give both")
        if self.client_ca_file and not self.cert_file:
            raise ValueError("client certificates (mTLS) need TLS: give --tls-cert and --tls-key")

    @property
    def tls(self) -> bool:
        """Whether the server speaks TLS."""
        return bool(self.cert_file)

    def grpc_credentials(self) -> grpc.ServerCredentials:
        """The gRPC server's TLS credentials."""
        client_ca = Path(self.client_ca_file).read_bytes() if self.client_ca_file else None
        pair = (Path(self.key_file).read_bytes(), Path(self.cert_file).read_bytes())
        return grpc.ssl_server_credentials(
            [pair], root_certificates=client_ca, require_client_auth=client_ca is not None
        )

    def ssl_context(self) -> ssl.SSLContext:
        """The REST server's TLS context."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        if self.client_ca_file:
            context.load_verify_locations(cafile=self.client_ca_file)
            context.verify_mode = ssl.CERT_REQUIRED
        return context

    def authorized(self, authorization: str | None) -> bool:
        """Whether an ``authorization`` header/metadata value passes (always, without a token)."""
        if self.token is None:
            return True
        expected = f"Bearer {self.token}"
        return authorization is not None and hmac.compare_digest(
            authorization.encode(), expected.encode()
        )


class TokenInterceptor(grpc.ServerInterceptor):
    """Refuses gRPC calls without the bearer token with ``UNAUTHENTICATED``."""

    def __init__(self, security: ServerSecurity):
        self.security = security

        def deny(request, context):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, UNAUTHENTICATED_MESSAGE)

        self._deny = grpc.unary_unary_rpc_method_handler(deny)

    def intercept_service(self, continuation, handler_call_details):
        """Passes the call on when its ``authorization`` metadata carries the token."""
        metadata = dict(handler_call_details.invocation_metadata or ())
        if self.security.authorized(metadata.get("authorization")):
            return continuation(handler_call_details)
        return self._deny
