"""Status codes shared by the client and the development server, named as gRPC names them.

TF Serving reports failures as gRPC status codes (``INVALID_ARGUMENT`` for a bad request,
``NOT_FOUND`` for an unknown model or version) and its REST API maps them to HTTP statuses. Both
client paths raise ``ServingError`` carrying the gRPC code name, so callers handle one type.
"""

import grpc

HTTP_STATUS: dict[str, int] = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "UNIMPLEMENTED": 501,
    "UNAVAILABLE": 503,
    "INTERNAL": 500,
}


class ServingError(Exception):
    """A request the server rejected or could not serve.

    Attributes:
        code: gRPC status code name, e.g. ``INVALID_ARGUMENT``.
        message: The server's explanation.
    """

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def grpc_code(self) -> grpc.StatusCode:
        """The code as a ``grpc.StatusCode``."""
        return grpc.StatusCode[self.code]

    @property
    def http_status(self) -> int:
        """The HTTP status TF Serving's REST API answers with for this code."""
        return HTTP_STATUS.get(self.code, 500)


def code_for_http_status(status: int) -> str:
    """The gRPC code name for an HTTP error status of TF Serving's REST API."""
    codes = {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        501: "UNIMPLEMENTED",
    }
    return codes.get(status, "UNAVAILABLE" if status == 503 else "UNKNOWN")
