"""Reading what clients send: JSON bodies, and integers, dates and choices from paths, queries and forms.

Every route reads its input through here, so a hostile value gets the same answer everywhere — a 400
that names the field (`InputError`), or a 404 for a path id no row can have — and never a 500:

- JSON bodies (`json_body`, and Flask's own `request.get_json` through `JSONProvider`) are parsed with a
  nesting limit (the standard parser recurses and raises RecursionError, which `silent=True` does not
  catch), with integers past 64 bits read as floats (so a number never overflows when a validator
  compares or converts it; 1e309 and 10**400 become inf, which field checks refuse with `finite`).
- Integers accept ASCII digits only (`'²'.isdigit()` is true, `int('²')` fails) within bounds that
  default to 64 bits; the `int` URL converter is bounded the same way, so `/x/<int:id>` past 2**63-1 is 404.
- Dates and date-times stay within years 1970–9000, so adding a day or a time zone never overflows.
- A NUL character in a query, form or path value, or a JSON string, reads as U+FFFD (`Request`, the text
  converters, `loads`).

Why our own: the standard `json` module has no depth or number limits, and no Flask extension adds them.
Bodies are read by orjson when it gives exactly what the standard parser gives here (no `\\u` escapes,
which may hide a NUL or a lone surrogate, and no integer of more digits than 64 bits hold: orjson keeps
some as integers); anything else, and anything orjson refuses, goes through the standard parser, whose
answer — the value or the refusal — is the one that counts. orjson reads a flag evaluation's context in
a sixth of the time.
"""

from __future__ import annotations

import io
import json
import math
import re
import uuid
from collections.abc import Collection
from datetime import UTC, date, datetime
from typing import Any

import flask
import orjson
from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter, PathConverter, UnicodeConverter, ValidationError
from werkzeug.utils import cached_property

INT64_MAX = 2**63 - 1
MAX_DEPTH = 32  # arrays and objects inside each other; no API of this app needs more than a few
MAX_JSON_BYTES = 1024 * 1024
FORM_READ_SIZE = 1024 * 1024  # a multipart body is read in pieces of this size (Request)
FILES_IN_MEMORY = 64 * 1024 * 1024  # a multipart body up to this keeps its files in memory (Request)
MAX_NUMBER_DIGITS = 4300  # Python's own limit for reading an integer (sys.get_int_max_str_digits)
MIN_DATE = date(1970, 1, 1)
MAX_DATE = date(9000, 12, 31)
_UNCLEAN = re.compile("[\x00\ud800-\udfff]")
_UNCLEAN_ESCAPE = re.compile(r"\\u(?:[dD][89a-fA-F]|0000)")
_UNSIGNED = re.compile(r"[0-9]{1,19}")
_SIGNED = re.compile(r"-?[0-9]{1,19}")
_MAX_INT_DIGITS = 19
_NOT_FOR_ORJSON = re.compile(rb"\\u|[0-9]{20}|-[0-9]{19}")  # an escape, or an integer read as a float here


class InputError(BadRequest):
    """A value a client sent that cannot be used: 400 with one message for the field that names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(description=f"{field} {message}")
        self.field = field
        self.message = message
        self.errors = {field: message}


# --------------------------------------------------------------------------- JSON


def _parse_int(text: str) -> int | float:
    # past 64 bits a number is a float, as in JavaScript: 10**400 becomes inf, refused as not finite
    if len(text) > MAX_NUMBER_DIGITS:
        raise ValueError(f"a number with more than {MAX_NUMBER_DIGITS} digits")
    return int(text) if len(text.lstrip("-")) <= _MAX_INT_DIGITS else float(text)


_DECODER = json.JSONDecoder(parse_int=_parse_int)  # made once: json.loads with an argument makes one per call


def _text_of(data: str | bytes | bytearray) -> str:
    """JSON text, from bytes in the encoding they are in (UTF-8, -16 or -32), as json.loads reads them:
    UnicodeDecodeError (a ValueError) when they are in none, the same refusal of a text that starts with a
    byte order mark, TypeError for anything else."""
    if isinstance(data, str):
        if data.startswith("\ufeff"):
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", data, 0)
        return data
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"the JSON object must be str, bytes or bytearray, not {data.__class__.__name__}")
    return data.decode(json.detect_encoding(data), "surrogatepass")


def _openers(text: str | bytes) -> int:
    """How many `{` and `[` the text holds, strings included: at least the depth of what it parses to."""
    if isinstance(text, bytes):
        return text.count(b"{") + text.count(b"[")
    return text.count("{") + text.count("[")


def depth(value: Any) -> int:
    """How deeply arrays and objects nest in `value` (0 for a scalar), without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Collection[Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def _cleaned(value: Any) -> Any:
    """`value` with each lone surrogate (a "\\ud800" escape without its pair, which no text encoding can
    carry on to Redis, PostgreSQL or a page) and each NUL (a "\\u0000" escape, which PostgreSQL refuses in
    text and JSON alike) as U+FFFD, as clean text has them. Depth is bounded already."""
    if isinstance(value, str):
        return _UNCLEAN.sub("\ufffd", value)
    if isinstance(value, list):
        return [_cleaned(v) for v in value]
    if isinstance(value, dict):
        return {_cleaned(k): _cleaned(v) for k, v in value.items()}
    return value


def loads(text: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads` with limits: ValueError (never RecursionError) for nesting deeper than `max_depth` and
    for anything that is not JSON; lone surrogates and NULs become U+FFFD. Non-finite numbers (NaN, 1e309) are left
    to each field's check, so the answer names the field (`finite`)."""
    if isinstance(text, bytes) and not _NOT_FOR_ORJSON.search(text):
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # the standard parser reads it below, and says what is wrong in its own words
        else:
            if _openers(text) > max_depth and depth(value) > max_depth:
                raise ValueError(f"nested more than {max_depth} levels deep")
            return value
    source = _text_of(text)
    try:
        value = _DECODER.decode(source)
    except RecursionError:
        raise ValueError(f"nested more than {max_depth} levels deep") from None
    if _openers(source) > max_depth and depth(value) > max_depth:  # fewer openers cannot nest deeper
        raise ValueError(f"nested more than {max_depth} levels deep")
    # an escape of either, or (from bytes, which may carry them raw) a surrogate itself
    unclean = _UNCLEAN_ESCAPE.search(source) or (source is not text and _UNCLEAN.search(source))
    return _cleaned(value) if unclean else value


def json_body(max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """The request's body read as JSON (whatever its content type says): InputError naming `body` when it
    is not JSON within the limits, 413 when it is larger than `max_bytes`."""
    too_large = RequestEntityTooLarge(f"The body is larger than {max_bytes} bytes.")
    if request.content_length is not None and request.content_length > max_bytes:
        raise too_large
    data = request.get_data(cache=True)
    if len(data) > max_bytes:
        raise too_large
    try:
        return loads(data, max_depth)
    except UnicodeDecodeError:
        raise InputError("body", "not valid UTF-8") from None
    except ValueError as exc:
        raise InputError("body", f"not valid JSON ({str(exc)[:200]})") from None


def json_object(max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """The request's JSON body when it is an object, or InputError naming `body`."""
    data = json_body(max_bytes, max_depth)
    if not isinstance(data, dict):
        raise InputError("body", "expected a JSON object")
    return data


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading with the limits above: `request.get_json()` answers a deep or non-standard
    body with 400 (or None with `silent=True`) like any other bad JSON."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s)


def finite(value: Any) -> bool:
    """A number (not a boolean) that is finite and, when an integer, within 64 bits (so it converts)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -INT64_MAX - 1 <= value <= INT64_MAX
    return isinstance(value, float) and math.isfinite(value)


# --------------------------------------------------------------------------- ids


def as_uuid(value: Any) -> uuid.UUID | None:
    """A UUID given as one or as its text (any of the forms uuid.UUID reads); None for anything else."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


# --------------------------------------------------------------------------- integers


def parse_int(raw: str | None, field: str, *, default: int | None = None, minimum: int = 0,
              maximum: int = INT64_MAX) -> int | None:
    """An integer written in ASCII digits (a leading minus when `minimum` < 0), within the bounds;
    `default` when empty or absent; InputError naming `field` otherwise."""
    text = (raw or "").strip()
    if not text:
        return default
    pattern = _SIGNED if minimum < 0 else _UNSIGNED
    if not pattern.fullmatch(text) or not minimum <= int(text) <= maximum:
        raise InputError(field, f"must be a whole number from {minimum} to {maximum}")
    return int(text)


def arg_int(name: str, default: int | None = None, minimum: int = 0, maximum: int = INT64_MAX) -> int | None:
    """A query parameter as an integer (see `parse_int`)."""
    return parse_int(request.args.get(name), name, default=default, minimum=minimum, maximum=maximum)


def form_int(name: str, default: int | None = None, minimum: int = 0, maximum: int = INT64_MAX) -> int | None:
    """A form field as an integer (see `parse_int`)."""
    return parse_int(request.form.get(name), name, default=default, minimum=minimum, maximum=maximum)


def form_ints(name: str, minimum: int = 1, maximum: int = INT64_MAX) -> list[int]:
    """Every value of a repeated form field as integers (ids of selected rows)."""
    return [value for raw in request.form.getlist(name)
            if (value := parse_int(raw, name, minimum=minimum, maximum=maximum)) is not None]


# --------------------------------------------------------------------------- dates and choices


def _in_range(value: date, field: str) -> None:
    if not MIN_DATE <= value <= MAX_DATE:
        raise InputError(field, f"must be a date from {MIN_DATE} to {MAX_DATE}")


def parse_date(raw: str | None, field: str, default: date | None = None) -> date | None:
    """A calendar date YYYY-MM-DD (a date-time's date part is taken) within MIN_DATE–MAX_DATE."""
    text = (raw or "").strip()
    if not text:
        return default
    try:
        value = date.fromisoformat(text[:10])
    except ValueError:
        raise InputError(field, "must be a date like 2026-12-01") from None
    _in_range(value, field)
    return value


def parse_datetime(raw: str | None, field: str, default: datetime | None = None) -> datetime | None:
    """An ISO 8601 date or date-time (UTC when it names no zone), as an aware datetime, within
    MIN_DATE–MAX_DATE. A bare date is its midnight."""
    text = (raw or "").strip()
    if not text:
        return default
    try:
        value = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise InputError(field, "must be a date or date-time like 2026-12-01 or 2026-12-01T09:00:00Z") from None
    _in_range(value.date(), field)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def parse_choice(raw: str | None, field: str, choices: Collection[str], default: str = "") -> str:
    """One of `choices`; `default` when absent (None); InputError naming `field` otherwise (blank too)."""
    if raw is None:
        return default
    text = raw.strip() if isinstance(raw, str) else None  # a JSON body may send any value
    if text not in choices:
        raise InputError(field, f"must be one of {', '.join(choices)}"[:500])
    return text


def arg_choice(name: str, choices: Collection[str], default: str = "") -> str:
    return parse_choice(request.args.get(name), name, choices, default)


# --------------------------------------------------------------------------- app-wide


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` in every route: ASCII digits only (Werkzeug's `\\d` also takes other scripts' digits),
    at most 2**63-1 unless the rule says otherwise, so an id no row can have is 404, not an overflow."""

    regex = r"[0-9]+"

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None, max: int | None = INT64_MAX,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    def to_python(self, value: str) -> Any:
        if len(value.lstrip("-")) > _MAX_INT_DIGITS:
            raise ValidationError()
        return super().to_python(value)


def without_nul(text: str) -> str:
    """`text` with each NUL character as U+FFFD, as clean text has it."""
    return text.replace("\x00", "\ufffd")


def _without_nul(values: MultiDict[str, str]) -> MultiDict[str, str]:
    """`values` with NULs read as U+FFFD; a multipart part without a name (its key None) is left out, as
    no field can be asked for by it."""
    if all(isinstance(k, str) and "\x00" not in k and "\x00" not in v for k, v in values.items(multi=True)):
        return values
    return type(values)((without_nul(k), without_nul(v)) for k, v in values.items(multi=True) if isinstance(k, str))


class Request(flask.Request):
    """Flask's request, with NUL characters in query and form names and values read as U+FFFD, as clean
    text has them: a NUL is never text a person meant, and PostgreSQL refuses it in any text value."""

    @cached_property
    def args(self) -> MultiDict[str, str]:  # type: ignore[override]
        return _without_nul(super().args)

    def _load_form_data(self) -> None:
        super()._load_form_data()
        self.__dict__["form"] = _without_nul(self.__dict__["form"])

    def _get_stream_for_parsing(self) -> Any:
        """The body read a megabyte at a time when it holds files: the multipart parser asks for 64 kB at a
        time, and each of those reads made the server copy what it had received ahead (up to 1 MB) again."""
        stream = super()._get_stream_for_parsing()
        if self.mimetype == "multipart/form-data" and isinstance(stream, io.RawIOBase):
            return io.BufferedReader(stream, FORM_READ_SIZE)
        return stream

    def _get_file_stream(self, total_content_length: int | None, content_type: str | None,
                         filename: str | None = None, content_length: int | None = None) -> Any:
        """A multipart body's file parts are held in memory when the body is at most FILES_IN_MEMORY bytes
        (past the view's limit it was refused before this): each view that takes files reads them whole,
        and the temporary file werkzeug spools a part over 500 kB to cost a write and a read of every byte."""
        if total_content_length is not None and total_content_length <= FILES_IN_MEMORY:
            return io.BytesIO()
        return super()._get_file_stream(total_content_length, content_type, filename, content_length)


class TextConverter(UnicodeConverter):
    """`<name>` and `<string:name>`: NUL characters read as U+FFFD, as in queries and forms."""

    def to_python(self, value: str) -> str:
        return without_nul(value)


class TextPathConverter(PathConverter):
    """`<path:name>`: NUL characters read as U+FFFD, as in queries and forms."""

    def to_python(self, value: str) -> str:
        return without_nul(value)


def init_app(app: Flask) -> None:
    """Before any blueprint registers its rules: the bounded `int` and the text converters, the JSON limits,
    the request class."""
    app.url_map.converters.update(int=BoundedIntConverter, default=TextConverter, string=TextConverter,
                                  path=TextPathConverter)
    app.json_provider_class = JSONProvider
    app.json = JSONProvider(app)
    app.request_class = Request
