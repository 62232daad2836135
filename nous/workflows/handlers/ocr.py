"""`ocr.image`: text from images with Tesseract (through nous.ocr), when the `tesseract` command is installed.

Without it the step is skipped with that reason (the run goes on). An image is a feedback attachment
(its id, or the attachment itself as `feedback.attachments[*]` gives it: a text file's own text is
returned as it is), a data: URL, or a file under the instance folder's `attachments/`.
"""

from __future__ import annotations

import base64
import binascii
import re
import tempfile
from pathlib import Path
from typing import Any

from nous import ocr as tesseract_ocr
from nous.feedback import service as feedback
from nous.workflows.handlers import StepContext, StepError, StepSkipped, handler

DATA_URL = re.compile(r"^data:image/(png|jpe?g|gif|bmp|tiff|webp);base64,(.+)$", re.IGNORECASE | re.DOTALL)
MAX_IMAGE = 10_000_000
MAX_IMAGES = 10
OCR_TIMEOUT = tesseract_ocr.TIMEOUT
_SUFFIX = {"image/jpeg": "jpg", "image/webp": "webp", "image/png": "png"}


def tesseract() -> str | None:
    return tesseract_ocr.binary()


def _attachment_id(ref: Any) -> int | None:
    """An attachment named by its id (a number, or text of digits) or given as `feedback.attachments[*]`."""
    if isinstance(ref, dict):
        ref = ref.get("id")
    if isinstance(ref, bool):
        return None
    if isinstance(ref, int):
        return ref
    if isinstance(ref, str) and ref.strip().isdigit() and len(ref.strip()) < 19:
        return int(ref.strip())
    return None


def _attachment(attachment_id: int, tmp: Path, index: int) -> Path | str:
    """The attachment's image written to `tmp` for Tesseract, or a text file's own text."""
    row = feedback.attachments.get(attachment_id)
    if row is None:
        raise StepError(f"image {index + 1}: no attachment #{attachment_id}", retryable=False)
    data = feedback.attachments.data_of(attachment_id) or b""
    if row.kind != "image":
        return data.decode("utf-8", errors="replace")
    path = tmp / f"image{index}.{_SUFFIX.get(row.content_type, 'png')}"
    path.write_bytes(data)
    return path


def _image_file(ref: str, instance_path: Path, tmp: Path, index: int) -> Path:
    match = DATA_URL.match(ref.strip())
    if match:
        try:
            data = base64.b64decode(match.group(2), validate=False)
        except (binascii.Error, ValueError):
            raise StepError(f"image {index + 1}: not valid base64", retryable=False) from None
        if len(data) > MAX_IMAGE:
            raise StepError(f"image {index + 1}: larger than {MAX_IMAGE} bytes", retryable=False)
        path = tmp / f"image{index}.{match.group(1).lower()}"
        path.write_bytes(data)
        return path
    base = (instance_path / "attachments").resolve()
    path = (base / ref).resolve()
    if not path.is_relative_to(base):
        raise StepError(f"image {index + 1}: only files under instance/attachments/ can be read", retryable=False)
    if not path.is_file():
        raise StepError(f"image {index + 1}: no file {ref!r} in instance/attachments/", retryable=False)
    return path


@handler(
    "ocr.image",
    "Reads the text in images (feedback attachments by id, data: URLs or files in instance/attachments/) "
    "with Tesseract; skipped with the reason when Tesseract is not installed.",
    params={"images": {"type": "array", "minItems": 0, "maxItems": MAX_IMAGES, "items": {"anyOf": [
                {"type": "string", "minLength": 1}, {"type": "integer", "minimum": 1},
                {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer", "minimum": 1}}}]}},
            "lang": {"type": "string", "pattern": "^[a-z_+]{3,40}$", "default": "eng"}},
    required=["images"],
    example={"images": "${{ feedback.attachments }}"},
)
def ocr(params: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
    binary = tesseract()
    if binary is None:
        raise StepSkipped("Tesseract is not installed on this worker (no `tesseract` command); "
                          f"{tesseract_ocr.INSTALL_HINT} to read text from images")
    images = params.get("images") or []
    if not images:
        raise StepSkipped("no images to read")
    texts = []
    with tempfile.TemporaryDirectory(prefix="nous-ocr-") as tmp:
        for i, ref in enumerate(images):
            attachment_id = _attachment_id(ref)
            source = _attachment(attachment_id, Path(tmp), i) if attachment_id is not None \
                else _image_file(str(ref), ctx.instance_path, Path(tmp), i)
            if isinstance(source, str):  # a text attachment: its text is what there is to read
                texts.append(source.strip())
                continue
            try:
                texts.append(tesseract_ocr.read_file(source, lang=params.get("lang", "eng"), exe=binary))
            except tesseract_ocr.OcrTimeout as exc:
                raise StepError(f"image {i + 1}: {exc}") from None
            except tesseract_ocr.OcrError as exc:
                raise StepError(f"image {i + 1}: {exc}", retryable=False) from None
    return {"texts": texts, "text": "\n\n".join(texts), "images": len(texts)}
