"""What the API fuzz tests share."""

from __future__ import annotations

from typing import Any

from hypothesis import assume
from schemathesis.specs.openapi.checks import positive_data_acceptance


def assume_sendable(case: Any) -> None:
    """Leave out a multipart body that is not an object: it has no form on the wire (a multipart body is
    always a set of named parts), and werkzeug's test client raises before the app sees it."""
    assume(case.media_type != "multipart/form-data" or case.body is None or isinstance(case.body, dict))


def validate(case: Any, response: Any) -> None:
    """schemathesis' checks of the answer, where a 304 to a conditional request is right: it counts any valid
    request not answered 2xx as refused, and a client whose If-None-Match (an ETag it holds, or `*`) matches
    asked for that 304. The 304 has no body and says which version it stands for."""
    if response.status_code == 304:
        assert any(k.lower() == "if-none-match" for k in case.headers or {}), case.headers
        assert response.content == b"" and "etag" in {k.lower() for k in response.headers}, response.headers
        case.validate_response(response, excluded_checks=[positive_data_acceptance])
    else:
        case.validate_response(response)
