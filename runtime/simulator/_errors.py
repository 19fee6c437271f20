"""OpenAI-style error responses.

The bodies mimic OpenAI's (``{"error": {"message", "type", "param", "code"}}``)
closely enough that clients map them as they would map the real ones: litellm,
for instance, recognises a context overflow by its message.
"""

from __future__ import annotations

import http
import json

from ._http import HttpResponse

__all__ = ["context_overflow", "error_response"]

# status -> (type, code, message template with {model})
_KINDS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: (
        "invalid_request_error",
        "invalid_api_key",
        "Incorrect API key provided. You can find your API key in your account settings.",
    ),
    403: ("permission_error", "permission_denied", "You are not allowed to use model {model}."),
    404: (
        "invalid_request_error",
        "model_not_found",
        "The model `{model}` does not exist or you do not have access to it.",
    ),
    408: ("timeout_error", None, "Request timed out."),
    422: ("invalid_request_error", None, "Unprocessable request."),
    429: (
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for {model} (simulated). Please try again later.",
    ),
    500: (
        "server_error",
        None,
        "The server had an error while processing your request. Sorry about that!",
    ),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
    504: ("server_error", None, "Gateway timeout."),
}


def error_response(
    status: int,
    model: str = "",
    message: str | None = None,
    *,
    code: str | None = None,
    param: str | None = None,
    retry_after_s: float | None = None,
) -> HttpResponse:
    """Build an error response for ``status``.

    Args:
        status: HTTP status, 4xx or 5xx.
        model: Model name, for the messages that mention it.
        message: Overrides the standard message of the status.
        code: Overrides the standard error code of the status.
        param: The request parameter to blame, if any.
        retry_after_s: Adds a ``retry-after`` header with this many seconds.
    """
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    kind, default_code, template = _KINDS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None, phrase)
    )
    body = {
        "error": {
            "message": message if message is not None else template.format(model=model),
            "type": kind,
            "param": param,
            "code": code if code is not None else default_code,
        }
    }
    headers = {} if retry_after_s is None else {"retry-after": f"{retry_after_s:g}"}
    return HttpResponse(status, json.dumps(body).encode(), headers=headers)


def context_overflow(limit: int, tokens: int) -> HttpResponse:
    """The 400 OpenAI sends when the prompt exceeds the context window."""
    message = (
        f"This model's maximum context length is {limit} tokens. However, your messages resulted in {tokens} tokens."
    )
    return error_response(400, message=message, code="context_length_exceeded", param="messages")
