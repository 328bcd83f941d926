"""Request-level errors: the request is refused as a whole and nothing is written."""

from rest_framework import exceptions, status

from ..errors import ErrorCode


class RequestError(exceptions.APIException):
    """A request refused as a whole: nothing is written."""

    status_code = status.HTTP_400_BAD_REQUEST
    error_code = ErrorCode.INVALID_REQUEST_SHAPE

    def __init__(self, detail: str, path: str = "") -> None:
        super().__init__(detail, code=self.error_code)
        self.path = path


class MalformedJSON(RequestError):
    error_code = ErrorCode.MALFORMED_JSON


class InvalidRequestShape(RequestError):
    error_code = ErrorCode.INVALID_REQUEST_SHAPE


class EmptyRequest(RequestError):
    error_code = ErrorCode.EMPTY_REQUEST


class InvalidPathParameter(RequestError):
    error_code = ErrorCode.INVALID_PATH_PARAMETER


class InvalidQueryParameter(RequestError):
    error_code = ErrorCode.INVALID_QUERY_PARAMETER


class RequestTooLarge(RequestError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    error_code = ErrorCode.REQUEST_TOO_LARGE


class TooManyMessages(RequestTooLarge):
    error_code = ErrorCode.TOO_MANY_MESSAGES


class LoginLockedOut(exceptions.Throttled):
    """Too many failed logins for a (client, address) pair."""

    default_detail = "Too many failed logins from this address."
