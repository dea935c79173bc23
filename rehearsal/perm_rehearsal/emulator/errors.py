"""HTTP error responses in Convex's `{code, message}` shape."""

from __future__ import annotations

from aiohttp import web


class ApiError(Exception):
    """Turned into an HTTP response `{"code", "message"}` with `status`."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> web.Response:
        return web.json_response({"code": self.code, "message": self.message}, status=self.status)


def bad_request(code: str, message: str) -> ApiError:
    return ApiError(400, code, message)


def not_found(code: str, message: str) -> ApiError:
    return ApiError(404, code, message)


def internal_error() -> ApiError:
    return ApiError(500, "InternalServerError", "Your request couldn't be completed. Try again later.")
