"""Files sent with feedback: checking what a client uploaded, storing it re-encoded, reading it back in
slices, reading the text in images (OCR), deleting one (audited) and the retention sweep.

What a file is gets decided from its bytes alone, never from its name or the type a client declared:
the magic bytes pick an image format, then Pillow decodes the whole image (after its pixel count was
checked from the header, so a decompression bomb is refused before any pixel is decoded) and encodes
it again. What is stored is that new encoding: EXIF (GPS included), comments, ICC chunks and anything
appended after the image are gone. A file that is no image may be a plain-text file (a log): UTF-8,
no NUL, no markup, up to `feedback.text_attachment_max_bytes`. Anything else refuses the whole
submission with a message per file (`attachments[i]`), and nothing is stored.

Downloads never hold a whole file in memory: `chunks()` reads `substr(data, offset, size)` slices,
which SQLite (BLOB) and PostgreSQL (bytea) both answer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import logging
import os
import re
import threading
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from flask import Response, request
from isal import isal_zlib
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select, update

from nous import ocr
from nous.audit import service as audit
from nous.clock import utcnow
from nous.extensions import db
from nous.feedback.models import Feedback, FeedbackAttachment
from nous.feedback.service.announce import announce_created, feedback_created, live_fields, tell_viewers
from nous.feedback.service.common import ValidationFailed
from nous.settings import service as settings
from nous.text import clean_text

log = logging.getLogger("nous.feedback")

FIELD = "attachments"
FILENAME_MAX = 100
MAX_PIXELS = 40_000_000  # an 8K screenshot is 33 Mpx; decoded RGBA at this size is 160 MB
MAX_SIDE = 20_000
THUMBNAIL_SIDE = 320
CHUNK = 64 * 1024
PNG_BAND = 64  # rows of pixels compressed per call (a 1920-wide RGB band is 360 kB)
DEFLATE_LEVEL = 1  # ISA-L's levels go from 0 to 3
IMAGE_BLOCKS_KEPT = 4  # freed blocks of decoded pixels (at most 16 MB each) a process keeps for the next image
EVENT_TEXT_MAX = 8000  # characters of each file's text in a workflow's input (which holds 64 000 in all)
PENDING_AFTER = timedelta(minutes=15)  # OCR still pending after this: its job was lost, the sweep queues it again
UNAVAILABLE_NOTE = ocr.UNAVAILABLE

# format → (content type, extension of the stored file, Pillow format written)
_IMAGE_FORMATS = {
    "PNG": ("image/png", "png", "PNG"),
    "JPEG": ("image/jpeg", "jpg", "JPEG"),
    "WEBP": ("image/webp", "webp", "WEBP"),
    "GIF": ("image/png", "png", "PNG"),  # the first frame, as PNG: animation is not kept
}
_PNG_COLOUR_TYPES = {"L": (0, 1), "RGB": (2, 3), "LA": (4, 2), "RGBA": (6, 4)}  # mode → (colour type, channels)
_IMAGE_EXTENSIONS = frozenset({"png", "jpg", "jpeg", "gif", "webp", "bmp", "tif", "tiff", "svg", "svgz", "ico",
                               "heic", "heif", "avif"})
_KNOWN_EXTENSIONS = _IMAGE_EXTENSIONS | {"txt", "log", "text"}
_MARKUP = re.compile(rb"<\s*(?:!doctype|html|head|body|script|svg|\?xml|iframe|object|embed|meta|style|a\s|img)",
                     re.IGNORECASE)
_DATA_URL = re.compile(r"data:[^,;]{0,100}(?:;[^,;]{1,100}){0,5};base64,", re.IGNORECASE)
_UNSAFE_NAME = re.compile(r"[^\w.\- ()]+")


class Refused(ValueError):
    """One file refused, with the reason a person can act on."""


@dataclass(frozen=True)
class Upload:
    """A file as the client sent it: the name it gave (only shown, never trusted) and the bytes."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class Prepared:
    """A file as it will be stored: decided, re-encoded, with its thumbnail."""

    filename: str
    content_type: str
    kind: str
    data: bytes
    width: int | None
    height: int | None
    thumbnail: bytes | None
    text: str
    text_status: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Limits:
    count: int
    file_bytes: int
    total_bytes: int
    text_bytes: int

    @classmethod
    def current(cls) -> Limits:
        return cls(count=int(settings.get("feedback.attachments_max")),
                   file_bytes=int(settings.get("feedback.attachment_max_bytes")),
                   total_bytes=int(settings.get("feedback.attachments_max_total_bytes")),
                   text_bytes=int(settings.get("feedback.text_attachment_max_bytes")))

    def body_bytes(self) -> int:
        """The largest request body the uploads can make: base64 in JSON (4/3, in lines: WRAPPED) and some
        room per file."""
        return self.total_bytes * 4 // 3 * WRAPPED // 100 + 8192 * max(1, self.count)


WRAPPED = 103  # per cent: base64 in lines of 76 characters with CRLF takes 78 for 76 (2.6 % more)
ACCEPTED_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif", "text/plain")  # _sniff() takes these


def widget_limits() -> dict[str, Any]:
    """What the widget needs to know before a tester attaches anything: how many files and bytes the
    server takes (the same settings prepare() enforces) and how it should scale images down."""
    limits = Limits.current()
    return {"max": limits.count, "max_file_bytes": limits.file_bytes, "max_total_bytes": limits.total_bytes,
            "max_text_bytes": limits.text_bytes, "accepted_types": list(ACCEPTED_TYPES),
            "image_max_side": settings.get("feedback.image_max_side"),
            "image_quality": settings.get("feedback.image_quality")}


def _megabytes(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n / 1000:.0f} kB"


# --- names --------------------------------------------------------------------------------------

def safe_filename(raw: str | None, extension: str) -> str:
    """A name to show and to offer in a download: no path, no control or shell-special characters, at
    most FILENAME_MAX characters, ending in the extension of what is stored (not what was claimed)."""
    name = unicodedata.normalize("NFKC", clean_text(str(raw or ""))).replace("\ufffd", "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    bare = name.lstrip(".")
    if "." in bare:
        stem = name.rsplit(".", 1)[0]
    else:  # `.png` or `...txt` is an extension alone, not a name; `.bashrc` keeps its name
        stem = "" if bare != name and bare.lower() in _KNOWN_EXTENSIONS else name
    stem = _UNSAFE_NAME.sub("_", stem).strip(" ._") or "attachment"
    return f"{stem[:FILENAME_MAX - len(extension) - 1]}.{extension}"


def _claimed_extension(raw: str | None) -> str:
    name = str(raw or "").rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def keep_image_memory(blocks: int = IMAGE_BLOCKS_KEPT) -> None:
    """Let Pillow keep a few freed blocks of pixel memory for the next image instead of handing every
    decoded screenshot's 8 MB back to the system and faulting in fresh pages for the next one: at 8
    uploads at a time those page faults cost a tenth of each request's CPU. An operator's
    PILLOW_BLOCKS_MAX (Pillow's own setting) wins."""
    if "PILLOW_BLOCKS_MAX" not in os.environ:
        Image.core.set_blocks_max(max(blocks, Image.core.get_blocks_max()))


# --- deciding what a file is --------------------------------------------------------------------

def _sniff(data: bytes) -> str | None:
    """The image format the magic bytes name, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _png_chunk(kind: bytes, *body: bytes) -> list[bytes]:
    """A PNG chunk as pieces to join (a body of several parts is neither joined nor copied here)."""
    crc = isal_zlib.crc32(kind)
    for part in body:
        crc = isal_zlib.crc32(part, crc)
    return [sum(map(len, body)).to_bytes(4, "big"), kind, *body, crc.to_bytes(4, "big")]


def _png(image: Image.Image) -> bytes:
    """The pixels as a PNG with no filter, IHDR, IDAT and IEND, nothing else. Written here because Pillow's
    PNG writer tries five filters on every row, which made a 2 MB screenshot's re-encoding 2-3 times
    slower; screenshots compress well unfiltered. The compressor is ISA-L's deflate (the zlib format):
    on real screenshots it wrote files within a few per cent of zlib's fastest level, 8-10 times faster
    (a 3000×1600 page: 2 ms, 233 kB, against 23 ms, 221 kB). Pillow's raw encoder hands the rows over
    PNG_BAND at a time (tobytes() would build the whole picture, 6 MB for a 1920×1080 page, as one more
    copy in fresh memory), and each band goes to the compressor once, with each row's filter byte."""
    colour_type, channels = _PNG_COLOUR_TYPES[image.mode]
    width, height = image.size
    stride = width * channels
    encoder = Image._getencoder(image.mode, "raw", image.mode)  # what tobytes() uses, one band at a time
    encoder.setimage(image.im, (0, 0, width, height))
    z = isal_zlib.compressobj(DEFLATE_LEVEL)
    parts = []
    try:
        while True:
            _, status, band = encoder.encode(PNG_BAND * stride)  # whole rows, PNG_BAND of them or the last ones
            rows = memoryview(band)
            parts += (z.compress(b"\x00"), z.compress(b"\x00".join([rows[i:i + stride]
                                                                     for i in range(0, len(band), stride)])))
            if status:
                break
    finally:
        encoder.cleanup()
    if status < 0:
        raise ValueError(f"the pixels could not be read (encoder error {status})")
    parts.append(z.flush())
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, colour_type, 0, 0, 0])
    return b"".join([b"\x89PNG\r\n\x1a\n", *_png_chunk(b"IHDR", header), *_png_chunk(b"IDAT", *parts),
                     *_png_chunk(b"IEND")])  # the file copied once, here


def _thumbnail(image: Image.Image) -> bytes:
    """A JPEG (a WebP when the image has transparency) of at most THUMBNAIL_SIDE on a side, scaled from the
    decoded image (no copy of it, no second decode): a box reduction by the whole factor first (a 1920×1080
    page: by 6, to 320×180 exactly), then a bilinear resample of the small image for what remains. JPEG
    costs a fifth of WebP's fastest method here, for a file about a third larger (14 kB against 10 kB for
    a screenshot); WebP keeps the transparency a JPEG cannot."""
    ratio = min(1.0, THUMBNAIL_SIDE / max(image.size))
    size = (max(1, round(image.width * ratio)), max(1, round(image.height * ratio)))
    thumb = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=1.0) if ratio < 1 else image
    if thumb.mode not in ("L", "RGB", "RGBA"):
        thumb = thumb.convert("RGBA" if "A" in thumb.getbands() or "transparency" in thumb.info else "RGB")
    # a browser's canvas gives RGBA even when nothing is see-through: only real transparency needs WebP
    transparent = thumb.mode == "RGBA" and thumb.getchannel("A").getextrema()[0] < 255
    if thumb.mode == "RGBA" and not transparent:
        thumb = thumb.convert("RGB")
    out = io.BytesIO()
    if transparent:
        thumb.save(out, "WEBP", quality=70, method=0)
    else:
        thumb.save(out, "JPEG", quality=80)
    return out.getvalue()


class _PixelBudget:
    """The pixels this process decodes at once: an image waits for its share (its width × height) of
    PROCESS_PIXELS. Without it, ten submissions of large images at a time held gigabytes of pixels."""

    def __init__(self, pixels: int) -> None:
        self.total = self.free = pixels
        self._changed = threading.Condition()

    @contextmanager
    def share(self, pixels: int) -> Iterator[None]:
        pixels = min(pixels, self.total)
        with self._changed:
            self._changed.wait_for(lambda: self.free >= pixels)
            self.free -= pixels
        try:
            yield
        finally:
            with self._changed:
                self.free += pixels
                self._changed.notify_all()


PROCESS_PIXELS = 2 * MAX_PIXELS  # two of the largest images at once, or forty 2-megapixel screenshots
_DECODING = _PixelBudget(PROCESS_PIXELS)


def _image(upload: Upload, fmt: str) -> Prepared:
    try:
        image = Image.open(io.BytesIO(upload.data), formats=[fmt])
        width, height = image.size  # from the header: nothing decoded yet
        if width < 1 or height < 1 or width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
            raise Refused(f"the image is {width}×{height} pixels; at most {MAX_PIXELS // 1_000_000} million "
                          f"pixels and {MAX_SIDE} on a side are accepted")
        with _DECODING.share(width * height):
            image.seek(0)
            image.load()  # the whole first frame: a truncated or corrupt file fails here
            return _reencoded(upload, fmt, image)
    except Refused:
        raise
    except Image.DecompressionBombError:
        raise Refused("the image would decode to too many pixels (a decompression bomb)") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise Refused(f"not a valid {fmt} image ({_reason(exc)})") from None


_OBJECT_REPR = re.compile(r"\s*<[^<>]{0,200} at 0x[0-9a-fA-F]+>")


def _reason(exc: Exception) -> str:
    """What was wrong with an image, in words for the person who sent it: Pillow's message without the
    Python objects and names some of them carry."""
    if isinstance(exc, UnidentifiedImageError):
        return "its data could not be read as an image"
    message = str(exc)
    if "MAX_TEXT_CHUNK" in message:
        return "a text chunk in it is too large"
    message = _OBJECT_REPR.sub("", message).strip()
    return message[:120] or "it could not be decoded"


def _reencoded(upload: Upload, fmt: str, image: Image.Image) -> Prepared:
    content_type, extension, write_as = _IMAGE_FORMATS[fmt]
    try:
        if fmt == "JPEG":
            image = ImageOps.exif_transpose(image)  # keep the picture upright once its EXIF is dropped
        if image.mode.startswith("I"):  # 16-bit grey (I;16, or I): scaled to 8 bits, not cut off at 255
            image = image.convert("I").point(lambda v: v * (1 / 257) + 0.5).convert("L")  # rounded
        if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA") or (write_as == "JPEG" and image.mode not in
                                                                        ("L", "RGB")):
            image = image.convert("RGBA" if write_as != "JPEG" and "A" in image.getbands() else "RGB")
        # No `exif`, `icc_profile`, `comment` or text chunks are passed on: the new file carries pixels only.
        if write_as == "PNG" and image.mode in _PNG_COLOUR_TYPES:
            data = _png(image)
        else:
            out = io.BytesIO()
            if write_as == "PNG":
                image.save(out, "PNG", compress_level=1)
            elif write_as == "JPEG":
                image.save(out, "JPEG", quality=90, optimize=False)
            else:
                image.save(out, "WEBP", quality=90, method=3)
            data = out.getvalue()
        return Prepared(filename=safe_filename(upload.filename, extension), content_type=content_type,
                        kind="image", data=data, width=image.width, height=image.height,
                        thumbnail=_thumbnail(image), text="", text_status="pending")
    except (OSError, ValueError) as exc:
        raise Refused(f"the image could not be re-encoded ({str(exc)[:120]})") from None


def _text(upload: Upload, limits: Limits) -> Prepared:
    data = upload.data
    if b"\x00" in data:
        raise Refused("not an accepted type: PNG, JPEG, WebP and GIF images and plain-text files are accepted")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Refused("not an accepted type: PNG, JPEG, WebP and GIF images and plain-text (UTF-8) files "
                      "are accepted") from None
    if _claimed_extension(upload.filename) in _IMAGE_EXTENSIONS:
        raise Refused(f"named .{_claimed_extension(upload.filename)} but it is not a PNG, JPEG, WebP or GIF "
                      "image (HTML, SVG and other markup are not accepted)")
    if _MARKUP.search(data[:65536]):
        raise Refused("HTML, SVG or other markup is not accepted; send a screenshot or a plain-text file")
    if len(data) > limits.text_bytes:
        raise Refused(f"a text file may be at most {_megabytes(limits.text_bytes)} (this one is "
                      f"{_megabytes(len(data))})")
    if not text:  # a byte-order mark and nothing after it
        raise Refused("the file is empty")
    text = clean_text(text)  # control characters (a terminal's escapes) as U+FFFD, as the console shows them
    if len(stored := text.encode("utf-8")) > limits.text_bytes:  # U+FFFD takes 3 bytes for the 1 it replaces
        raise Refused(f"a text file may be at most {_megabytes(limits.text_bytes)} (this one comes to "
                      f"{_megabytes(len(stored))} with its control characters replaced)")
    return Prepared(filename=safe_filename(upload.filename, "txt"), content_type="text/plain; charset=utf-8",
                    kind="text", data=stored, width=None, height=None, thumbnail=None,
                    text=text, text_status="done")


def prepare_one(upload: Upload, limits: Limits | None = None) -> Prepared:
    """One file decided and re-encoded, or Refused with the reason."""
    limits = limits or Limits.current()
    if not upload.data:
        raise Refused("the file is empty")
    if len(upload.data) > limits.file_bytes:
        raise Refused(f"larger than {_megabytes(limits.file_bytes)} (this one is {_megabytes(len(upload.data))})")
    fmt = _sniff(upload.data)
    return _image(upload, fmt) if fmt else _text(upload, limits)


def _too_many(allowed: int, got: int) -> str:
    if allowed < 1:
        return f"files are not accepted with feedback (got {got})"
    return f"at most {allowed} file{'s' if allowed != 1 else ''} per feedback (got {got})"


def _shown_name(upload: Upload, index: int) -> str:
    name = clean_text(str(upload.filename or "")).replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:FILENAME_MAX] or f"file {index + 1}"


def prepare(uploads: Sequence[Upload], limits: Limits | None = None) -> list[Prepared]:
    """Every file of a submission checked and re-encoded; ValidationFailed naming each refused file
    (`attachments[i]`: "<name>: <reason>"), or the whole field for too many or too large in total."""
    if not uploads:
        return []
    limits = limits or Limits.current()
    if len(uploads) > limits.count:
        raise ValidationFailed({FIELD: _too_many(limits.count, len(uploads))})
    total = sum(len(u.data) for u in uploads)
    if total > limits.total_bytes:
        raise ValidationFailed({FIELD: f"the files come to {_megabytes(total)}; at most "
                                       f"{_megabytes(limits.total_bytes)} per feedback"})
    pixels = sum(_pixels(u) for u in uploads)  # from the headers, before anything is decoded
    if pixels > SUBMISSION_PIXELS:
        raise ValidationFailed({FIELD: f"the images come to {pixels / 1e6:.0f} million pixels; at most "
                                       f"{SUBMISSION_PIXELS // 1_000_000} million per feedback"})
    errors: dict[str, str] = {}
    out: list[Prepared] = []
    for i, upload in enumerate(uploads):
        try:
            out.append(prepare_one(upload, limits))
        except Refused as exc:
            errors[f"{FIELD}[{i}]"] = f"{_shown_name(upload, i)}: {exc}"
    if errors:
        raise ValidationFailed(errors)
    return out


SUBMISSION_PIXELS = 2 * MAX_PIXELS  # five 4K screenshots are 41 million


def _pixels(upload: Upload) -> int:
    """An image's width × height from its header (0 for anything that is not one: prepare_one decides)."""
    fmt = _sniff(upload.data)
    if fmt is None:
        return 0
    try:
        width, height = Image.open(io.BytesIO(upload.data), formats=[fmt]).size
    except Exception:  # noqa: BLE001 - unreadable here: prepare_one refuses it with its reason
        return 0
    return width * height if width * height <= MAX_PIXELS else 0  # larger: refused as one file, by name


def from_json(value: Any, limits: Limits | None = None) -> list[Upload]:
    """Uploads from JSON's `"attachments": [{"filename": …, "data": "data:image/png;base64,…"}]`.
    The declared type in the data URL is ignored (the bytes decide)."""
    if value is None or value == []:
        return []
    limits = limits or Limits.current()
    if not isinstance(value, list):
        raise ValidationFailed({FIELD: 'must be a list of {"filename": …, "data": "data:…;base64,…"}'})
    if len(value) > limits.count:
        raise ValidationFailed({FIELD: _too_many(limits.count, len(value))})
    errors: dict[str, str] = {}
    out: list[Upload] = []
    for i, item in enumerate(value):
        key = f"{FIELD}[{i}]"
        if not isinstance(item, dict):
            errors[key] = 'must be an object {"filename": …, "data": "data:…;base64,…"}'
            continue
        name, data = item.get("filename"), item.get("data")
        if name is not None and not isinstance(name, str):
            errors[key] = "filename must be text"
            continue
        shown = (clean_text(name or "").strip()[:FILENAME_MAX] or f"file {i + 1}")
        if not isinstance(data, str) or not (match := _DATA_URL.match(data)):
            errors[key] = f"{shown}: data must be a data: URL with base64 content (data:image/png;base64,…)"
            continue
        encoded = data[match.end():]
        largest = limits.file_bytes * 4 // 3 + 8
        if len(encoded) > largest * WRAPPED // 100 or len(encoded := "".join(encoded.split())) > largest:
            errors[key] = f"{shown}: larger than {_megabytes(limits.file_bytes)}"
            continue
        try:
            raw = base64.b64decode(encoded, validate=True)  # without the line breaks MIME tools wrap it in
        except (binascii.Error, ValueError):
            errors[key] = f"{shown}: the data is not valid base64"
            continue
        out.append(Upload(filename=name or "", data=raw))
    if errors:
        raise ValidationFailed(errors)
    return out


# --- storing (called by intake inside the submission's transaction) ------------------------------

def rows_for(feedback_id: int, tester_id: Any, prepared: Sequence[Prepared], at: Any) -> list[dict[str, Any]]:
    """The INSERT parameters of a submission's files."""
    return [{"feedback_id": feedback_id, "tester_id": tester_id, "filename": p.filename,
             "content_type": p.content_type, "kind": p.kind, "size": len(p.data), "width": p.width,
             "height": p.height, "sha256": p.sha256, "data": p.data, "thumbnail": p.thumbnail, "text": p.text,
             "text_status": p.text_status, "created_at": at} for p in prepared]


# --- reading ------------------------------------------------------------------------------------

def _valid_id(attachment_id: Any) -> bool:
    return isinstance(attachment_id, int) and not isinstance(attachment_id, bool) and 0 < attachment_id < 2**63


def for_feedback(feedback_id: int) -> list[FeedbackAttachment]:
    """The files of one feedback, oldest first, with their text; the blobs are not loaded."""
    if not _valid_id(feedback_id):
        return []
    return list(db.session.scalars(select(FeedbackAttachment).where(FeedbackAttachment.feedback_id == feedback_id)
                                   .order_by(FeedbackAttachment.id)))


def thumbnails_for(feedback_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """For a list page: {feedback id: [{id, filename, kind, width, height}, …]} in one query that reads
    neither blob nor text (only the columns named)."""
    ids = [i for i in feedback_ids if _valid_id(i)]
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if not ids:
        return out
    t = FeedbackAttachment.__table__.c
    rows = db.session.execute(select(t.feedback_id, t.id, t.filename, t.kind, t.width, t.height)
                              .where(t.feedback_id.in_(ids)).order_by(t.feedback_id, t.id))
    for fid, aid, filename, kind, width, height in rows:
        out[fid].append({"id": aid, "filename": filename, "kind": kind, "width": width, "height": height})
    return out


def get(attachment_id: int) -> FeedbackAttachment | None:
    """One file's row (what it is, its text); the blobs are not loaded."""
    return db.session.get(FeedbackAttachment, attachment_id) if _valid_id(attachment_id) else None


def chunks(attachment_id: int, size: int = CHUNK, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """The stored bytes from `start` up to `end` (exclusive; the whole file by default, its size read now)
    in slices of `size`, each read by its own `substr` query, so a download holds one slice at a time. The
    slices are read as the iterator is consumed (it needs no app context then, so a streamed response can
    use it as it is). A file deleted meanwhile ends the stream early."""
    size = max(1024, min(int(size), 8 * 1024 * 1024))
    table = FeedbackAttachment.__table__
    if not _valid_id(attachment_id):
        stop = None
    elif end is None:
        stop = db.session.scalar(select(table.c.size).where(table.c.id == attachment_id))
    else:
        stop = int(end)
    engine = db.engine

    def read() -> Iterator[bytes]:
        offset = max(0, int(start))
        while stop is not None and offset < stop:
            with engine.connect() as conn:
                piece = conn.scalar(select(func.substr(table.c.data, offset + 1, min(size, stop - offset)))
                                    .where(table.c.id == attachment_id))
            if not piece:
                return
            yield bytes(piece)
            offset += len(piece)

    return read()


def data_of(attachment_id: int) -> bytes | None:
    """The whole stored file (for reading its text, not for a download: see chunks())."""
    if not _valid_id(attachment_id):
        return None
    return db.session.scalar(select(FeedbackAttachment.data).where(FeedbackAttachment.id == attachment_id))


def thumbnail_bytes(attachment_id: int) -> bytes | None:
    """The small thumbnail of an image, JPEG or WebP (None for a text file or an unknown id)."""
    if not _valid_id(attachment_id):
        return None
    return db.session.scalar(select(FeedbackAttachment.thumbnail).where(FeedbackAttachment.id == attachment_id))


def for_event(feedback_id: int) -> list[dict[str, Any]]:
    """The files of a feedback as the workflows see them: `feedback.attachments[*]` (no bytes). Each text
    is cut to EVENT_TEXT_MAX characters (`text_truncated` says so): a run's input is kept small."""
    out = []
    for a in for_feedback(feedback_id):
        item = a.as_dict()
        item["text_truncated"] = len(item["text"]) > EVENT_TEXT_MAX
        item["text"] = item["text"][:EVENT_TEXT_MAX]
        out.append(item)
    return out


# --- serving: a stored file answered so that it can never run as a page ----------------------------
# Shared by the console's routes and the admin API, so both send the same headers.

# The extension a file is offered with follows the type the server decided, whatever the name says, so a
# saved file is opened as what it is (a log named `page.html` is saved as `page.html.txt`).
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "text/plain": "txt"}
KNOWN_EXTENSIONS = frozenset({*EXTENSIONS.values(), "jpeg", "gif"})
THUMBNAIL_TYPES = {"JPEG": "image/jpeg", "WEBP": "image/webp"}  # _thumbnail() writes one or the other
ASCII_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
IMMUTABLE = "private, max-age=31536000, immutable"  # an attachment's bytes never change under its id


def served_name(filename: str, content_type: str, suffix: str = "") -> str:
    """The stored name made safe again (no path, no control or special characters), ending in the extension
    of the type served, with `suffix` before it (e.g. "-thumbnail")."""
    extension = EXTENSIONS.get(content_type.split(";")[0].strip().lower(), "bin")
    stem, dot, ext = filename.rpartition(".")
    if not (dot and stem and ext.lower() in KNOWN_EXTENSIONS):
        stem = filename  # not one of ours: kept in sight (`page.html` is served as text as `page.html.txt`)
    return safe_filename(f"{stem or 'attachment'}{suffix}.{extension}", extension)


def content_disposition(kind: str, name: str) -> str:
    """RFC 6266: `filename` in plain ASCII for old clients, `filename*` (RFC 8187, UTF-8) for the rest."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    stem, dot, ext = ASCII_UNSAFE.sub("_", ascii_name).rpartition(".")
    fallback = f"{stem.strip('._') or 'attachment'}.{ext}" if dot else (ext.strip("._") or "attachment")
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _served(body: Any, *, content_type: str, disposition: str, etag: str, length: int | None,
            status: int = 200) -> Response:
    """A stored file as an inert download: the type the server decided, never sniffed, in a sandbox."""
    resp = Response(body, status=status, content_type=content_type)
    resp.headers["Content-Disposition"] = disposition
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "sandbox"
    resp.headers["Cache-Control"] = IMMUTABLE
    resp.set_etag(etag)
    if length is not None:
        resp.content_length = length
    return resp


def _not_modified(etag: str) -> Response | None:
    """The client already holds these bytes (If-None-Match): 304, without reading them again."""
    if not request.if_none_match.contains(etag):
        return None
    resp = Response(status=304)
    resp.headers["Cache-Control"] = IMMUTABLE
    resp.set_etag(etag)
    return resp


_BYTE_RANGES = re.compile(r"\s*bytes\s*=\s*(.*)", re.IGNORECASE | re.DOTALL)
_BYTE_RANGE = re.compile(r"([0-9]*)-([0-9]*)")
UNSATISFIABLE = "unsatisfiable"


def byte_range(header: str | None, length: int) -> tuple[int, int] | str | None:
    """The one range of a `Range` header (RFC 9110 section 14) a download answers: (start, end) with
    end exclusive, UNSATISFIABLE when no range of it starts inside the file (a 416: `bytes=-0`,
    `bytes=999999999-` on a smaller file), or None to send the whole file: no header, one that is not
    valid (also `bytes=5-2`), another unit, or more than one range. Several ranges get the whole file
    (a 200), which the RFC allows: it spares a multipart body and bounds what a request may make the
    server read (overlapping ranges cannot multiply a file)."""
    match = _BYTE_RANGES.fullmatch(header or "")
    specs = [part.strip() for part in match.group(1).split(",") if part.strip()] if match else []
    m = _BYTE_RANGE.fullmatch(specs[0]) if len(specs) == 1 else None
    if not m or not (m.group(1) or m.group(2)):
        return None
    first, last = _position(m.group(1)), _position(m.group(2))
    if first is not None and last is not None and last < first:
        return None  # an invalid range: the header is ignored
    if first is None:  # the last N bytes; N = 0 asks for nothing
        suffix = last or 0
        return (max(0, length - suffix), length) if suffix > 0 and length > 0 else UNSATISFIABLE
    if first >= length:
        return UNSATISFIABLE
    return first, min(length, last + 1) if last is not None else length


_BEYOND_ANY_FILE = 10**18


def _position(digits: str) -> int | None:
    """A byte position of a Range header; one of more than 18 digits is past the end of any file (and is
    never converted: Python refuses integers of more than 4,300 digits)."""
    if not digits:
        return None
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= 18 else _BEYOND_ANY_FILE


def _if_range_holds(etag: str) -> bool:
    """No If-Range, or one naming these bytes by their strong ETag. A weak ETag or a date never holds
    (no Last-Modified is sent), and then the whole file is sent."""
    value = request.headers.get("If-Range")
    return value is None or value.strip() == f'"{etag}"'


def file_response(att: FeedbackAttachment, kind: str = "attachment", chunk_size: int = CHUNK) -> Response:
    """The stored file of `att` (a row from get()), `kind` "inline" or "attachment", streamed from chunks();
    its ETag is its sha256, so a client that holds it gets 304. A GET with `Range: bytes=a-b` (taken from
    the request itself, so every caller answers it) gets that part, 206 with Content-Range, read from the
    database a slice at a time from `a`; an If-Range other than this ETag gets the whole file; a range
    that starts past the end is a 416 (see byte_range() for what else is ignored)."""
    cached = _not_modified(att.sha256)
    if cached is not None:
        return cached
    disposition = content_disposition(kind, served_name(att.filename, att.content_type))
    wanted = byte_range(request.headers.get("Range"), att.size) if _if_range_holds(att.sha256) else None
    if wanted == UNSATISFIABLE:
        resp = _served(b"", content_type=att.content_type, etag=att.sha256, length=0, disposition=disposition,
                       status=416)
        resp.headers["Content-Range"] = f"bytes */{att.size}"
        resp.headers["Cache-Control"] = "no-store"  # an answer about this request, not the file
    elif isinstance(wanted, tuple):
        start, end = wanted
        # chunks() reads each slice with a connection of its own as the response is sent: no context to keep
        resp = _served(chunks(att.id, chunk_size, start, end), content_type=att.content_type, etag=att.sha256,
                       length=end - start, disposition=disposition, status=206)
        resp.headers["Content-Range"] = f"bytes {start}-{end - 1}/{att.size}"
    else:
        resp = _served(chunks(att.id, chunk_size, 0, att.size), content_type=att.content_type, etag=att.sha256,
                       length=att.size, disposition=disposition)
    resp.headers["Accept-Ranges"] = "bytes"
    return resp


def thumbnail_response(att: FeedbackAttachment) -> Response | None:
    """The thumbnail of `att` served as file_response() serves the file; None when it has none (a text)."""
    etag = f"{att.sha256}-thumbnail"
    cached = _not_modified(etag)
    if cached is not None:
        return cached
    data = thumbnail_bytes(att.id)
    if data is None:
        return None
    content_type = THUMBNAIL_TYPES.get(_sniff(data) or "", "image/webp")  # from the bytes: older ones are WebP
    return _served(data, content_type=content_type, etag=etag, length=len(data),
                   disposition=content_disposition("inline", served_name(att.filename, content_type, "-thumbnail")))


# --- deleting -----------------------------------------------------------------------------------

def delete(attachment_id: int, actor: str, ip: str = "") -> FeedbackAttachment | None:
    """Delete one file, audited on its feedback (`feedback:<id>`) in the same transaction, then tell the
    pages showing that feedback (its version is unchanged, so they refresh as for a reply). Returns the
    row as it was (blobs not loaded), None when there was no such file."""
    row = get(attachment_id)
    if row is None:
        return None
    waited = row.text_status == "pending"  # the workflows hear of its feedback once no image waits
    _audit_deleted(row, actor, ip)
    db.session.execute(sql_delete(FeedbackAttachment).where(FeedbackAttachment.id == row.id))
    owner = db.session.get(Feedback, row.feedback_id)
    fields = live_fields(owner) if owner is not None else None
    db.session.commit()
    if fields is not None:
        tell_viewers("updated", row.feedback_id, fields, at=utcnow(), versioned=False)
    if waited:  # the last image waiting to be read is gone before its job came: nobody else would tell them
        announce_when_read(row.feedback_id)
    return row


# what the audit of a delete names (the columns a DELETE … RETURNING gives _audit_deleted)
_AUDITED = (FeedbackAttachment.id, FeedbackAttachment.feedback_id, FeedbackAttachment.filename,
            FeedbackAttachment.content_type, FeedbackAttachment.size, FeedbackAttachment.sha256)


def _audit_deleted(row: Any, actor: str, ip: str, why: str | None = None) -> None:
    before = {"attachment": row.id, "filename": row.filename, "content_type": row.content_type, "size": row.size,
              "sha256": row.sha256}
    audit.record(actor, "feedback.attachment.delete", f"feedback:{row.feedback_id}",
                 before if why is None else {**before, "why": why}, None, ip=ip, commit=False)


def delete_of_tester(tester_id: uuid.UUID, actor: str, ip: str = "") -> Callable[[], None] | None:
    """Inside the removal of a tester (`events.tester_removing`): the files they sent deleted, each audited
    as a delete by `actor` on its feedback, in the caller's transaction (the rows the DELETE took, so a file
    stored meanwhile is not deleted unsaid). Returns what to do once that is committed (tell the pages
    showing those feedback; the workflows of one whose last unread image went), None when they sent none."""
    rows = list(db.session.execute(sql_delete(FeedbackAttachment).where(FeedbackAttachment.tester_id == tester_id)
                                   .returning(*_AUDITED, FeedbackAttachment.text_status)))
    if not rows:
        return None
    for row in sorted(rows, key=lambda r: r.id):
        _audit_deleted(row, actor, ip, why="its tester was removed")
    waited = sorted({row.feedback_id for row in rows if row.text_status == "pending"})
    owners = db.session.scalars(select(Feedback).where(Feedback.id.in_({row.feedback_id for row in rows})))
    shown = {owner.id: live_fields(owner) for owner in owners}

    def committed() -> None:
        for fid, fields in sorted(shown.items()):
            tell_viewers("updated", fid, fields, at=utcnow(), versioned=False)
        for fid in waited:
            announce_when_read(fid)

    return committed


def delete_older_than(days: int, batch: int = 500) -> int:
    """The retention sweep: delete files older than `days`, in batches (short transactions), each file audited
    as a delete by the system on its feedback, saying why (the rows the DELETE took: a file an admin deleted
    meanwhile is audited once). Returns how many."""
    cutoff = utcnow() - timedelta(days=days)
    why = f"older than the retention of {days} days (feedback.attachment_retention_days)"
    deleted = 0
    while True:
        ids = list(db.session.scalars(select(FeedbackAttachment.id).where(FeedbackAttachment.created_at < cutoff)
                                      .order_by(FeedbackAttachment.id).limit(batch)))
        if not ids:
            return deleted
        rows = list(db.session.execute(sql_delete(FeedbackAttachment).where(FeedbackAttachment.id.in_(ids))
                                       .returning(*_AUDITED)))
        for row in sorted(rows, key=lambda r: r.id):
            _audit_deleted(row, "system", "", why=why)
        db.session.commit()
        deleted += len(rows)


def feedback_waiting_for_text(older_than: timedelta = PENDING_AFTER, limit: int = 200) -> list[int]:
    """Feedback whose images still wait for OCR after `older_than` (their job was never queued or got lost)."""
    cutoff = utcnow() - older_than
    return list(db.session.scalars(select(FeedbackAttachment.feedback_id).where(
        FeedbackAttachment.text_status == "pending", FeedbackAttachment.created_at < cutoff)
        .group_by(FeedbackAttachment.feedback_id).order_by(FeedbackAttachment.feedback_id).limit(limit)))


# --- reading the text in images (the background job's work) ------------------------------------

def read_text(feedback_id: int) -> dict[str, int]:
    """Read the text of every image of a feedback still pending, one at a time, each stored as soon as
    it is read: 'done' with the text, 'unavailable' without Tesseract, 'failed' when Tesseract could not
    read it. Returns how many ended in each status."""
    counts = {"done": 0, "unavailable": 0, "failed": 0}
    if not _valid_id(feedback_id):
        return counts
    pending = list(db.session.scalars(select(FeedbackAttachment.id).where(
        FeedbackAttachment.feedback_id == feedback_id, FeedbackAttachment.text_status == "pending")
        .order_by(FeedbackAttachment.id)))
    db.session.rollback()  # no transaction held open while Tesseract runs
    for attachment_id in pending:
        status, text = _ocr_one(attachment_id)
        db.session.execute(update(FeedbackAttachment).where(FeedbackAttachment.id == attachment_id,
                                                            FeedbackAttachment.text_status == "pending")
                           .values(text=text, text_status=status))
        db.session.commit()
        counts[status] += 1
    return counts


def _ocr_one(attachment_id: int) -> tuple[str, str]:
    row = db.session.execute(select(FeedbackAttachment.kind, FeedbackAttachment.content_type,
                                    FeedbackAttachment.data).where(FeedbackAttachment.id == attachment_id)).first()
    db.session.rollback()
    if row is None:
        return "failed", ""
    kind, content_type, data = row
    if kind != "image":
        return "done", clean_text(bytes(data).decode("utf-8", errors="replace"))
    suffix = "." + {"image/jpeg": "jpg", "image/webp": "webp"}.get(content_type, "png")
    try:
        return "done", clean_text(ocr.read_bytes(bytes(data), suffix=suffix))
    except ocr.OcrUnavailable:
        return "unavailable", ""
    except ocr.OcrError as exc:
        log.warning("text of an attachment not read", extra={"attachment_id": attachment_id, "error": str(exc)})
        return "failed", ""


def announce_when_read(feedback_id: int) -> None:
    """Tell the workflows the feedback was created, with `feedback.attachments[*].text`, once none of its
    images waits to be read (by the reading job, or when the last waiting one is deleted)."""
    if not feedback_created.receivers or has_pending(feedback_id):
        return
    row = db.session.get(Feedback, feedback_id)
    if row is not None:
        event = row.as_dict()
        event["attachments"] = for_event(feedback_id)
        db.session.rollback()
        announce_created(event)


def has_pending(feedback_id: int) -> bool:
    return bool(db.session.scalar(select(func.count()).select_from(FeedbackAttachment).where(
        FeedbackAttachment.feedback_id == feedback_id, FeedbackAttachment.text_status == "pending")))
