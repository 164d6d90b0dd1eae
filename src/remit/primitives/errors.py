"""The one exception tree. Every error maps to Stripe's wire shape.

Each class fixes Stripe's error ``type`` and HTTP status; instances carry the
``code``, ``param`` and ``message`` that explain the particular failure.
"""

from __future__ import annotations

from typing import Any


class StripeError(Exception):
    """Base of every error that reaches an API caller."""

    type: str = "api_error"
    http_status: int = 500

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        http_status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        if http_status is not None:
            self.http_status = http_status
        self.headers: dict[str, str] = dict(headers or {})

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code is not None:
            body["code"] = self.code
            body["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param is not None:
            body["param"] = self.param
        return {"error": body}


class APIError(StripeError):
    type = "api_error"
    http_status = 500


class InvalidRequestError(StripeError):
    type = "invalid_request_error"
    http_status = 400


class ResourceMissing(InvalidRequestError):
    """An id that does not exist (or belongs to another account: we never tell which)."""

    http_status = 404

    def __init__(self, object_name: str, object_id: str, *, param: str | None = "id") -> None:
        super().__init__(
            f"No such {object_name}: '{object_id}'", code="resource_missing", param=param
        )


class AuthenticationError(StripeError):
    type = "invalid_request_error"
    http_status = 401


class TemporarySessionExpired(StripeError):
    """A v2 session token (the meter event stream's credential) past its expiry."""

    type = "temporary_session_expired"
    http_status = 401


class PermissionDenied(StripeError):
    type = "invalid_request_error"
    http_status = 403


class IdempotencyError(StripeError):
    type = "idempotency_error"
    http_status = 400


class RateLimitError(StripeError):
    type = "invalid_request_error"
    http_status = 429


def unknown_parameter(param: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"Received unknown parameter: {param}", code="parameter_unknown", param=param
    )


def missing_parameter(param: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"Missing required param: {param}.", code="parameter_missing", param=param
    )


def invalid_parameter(
    param: str, message: str, code: str = "parameter_invalid"
) -> InvalidRequestError:
    return InvalidRequestError(message, code=code, param=param)
