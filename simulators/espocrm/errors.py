"""Error answers shaped like EspoCRM's: a status code, an `X-Status-Reason` header and, for
validation failures, a `messageTranslation` body."""

from __future__ import annotations

from typing import Any

from aiohttp import web


class ApiError(Exception):
    def __init__(self, status: int, reason: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.status, self.reason, self.body = status, reason, body

    def response(self) -> web.Response:
        body = self.body if self.body is not None else {"message": self.reason}
        return web.json_response(body, status=self.status, headers={"X-Status-Reason": self.reason})


class ValidationFailure(ApiError):
    """400 `validationFailure`, as EspoCRM answers a write that breaks a field rule (E9)."""

    def __init__(self, field: str, kind: str) -> None:
        body = {
            "messageTranslation": {
                "label": "validationFailure",
                "scope": None,
                "data": {"field": field, "type": kind},
            }
        }
        super().__init__(400, f"validationFailure: {field} ({kind})", body)


class CustomValidationError(ApiError):
    """400 with a custom label, e.g. `invalidIbanChecksum` from the CBankverbindungen hook."""

    def __init__(self, label: str, scope: str) -> None:
        body = {"messageTranslation": {"label": label, "scope": scope, "data": {}}}
        super().__init__(400, label, body)


def not_found(entity: str, record_id: str) -> ApiError:
    return ApiError(404, f"{entity} {record_id} not found")
