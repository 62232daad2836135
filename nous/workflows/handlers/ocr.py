"""`ocr.image`: text from images with Tesseract, when the `tesseract` command is installed.

Without it the step is skipped with that reason (the run goes on). Images are data: URLs (as a
widget attachment arrives) or files under the instance folder's `attachments/`.
"""

from __future__ import annotations

import base64
import binascii
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from nous.workflows.handlers import StepContext, StepError, StepSkipped, handler

DATA_URL = re.compile(r"^data:image/(png|jpe?g|gif|bmp|tiff|webp);base64,(.+)$", re.IGNORECASE | re.DOTALL)
MAX_IMAGE = 10_000_000
MAX_IMAGES = 10
OCR_TIMEOUT = 60


def tesseract() -> str | None:
    return shutil.which("tesseract")


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
    "Reads the text in images (data: URLs or files in instance/attachments/) with Tesseract; skipped "
    "with the reason when Tesseract is not installed.",
    params={"images": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 0,
                       "maxItems": MAX_IMAGES},
            "lang": {"type": "string", "pattern": "^[a-z_+]{3,40}$", "default": "eng"}},
    required=["images"],
    example={"images": "${{ feedback.attachments }}"},
)
def ocr(params: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
    binary = tesseract()
    if binary is None:
        raise StepSkipped("Tesseract is not installed on this worker (no `tesseract` command); "
                          "install tesseract-ocr to read text from images")
    images = params.get("images") or []
    if not images:
        raise StepSkipped("no images to read")
    texts = []
    with tempfile.TemporaryDirectory(prefix="nous-ocr-") as tmp:
        for i, ref in enumerate(images):
            path = _image_file(ref, ctx.instance_path, Path(tmp), i)
            try:
                done = subprocess.run([binary, str(path), "stdout", "-l", params.get("lang", "eng")],
                                      capture_output=True, timeout=OCR_TIMEOUT, check=False)
            except subprocess.TimeoutExpired:
                raise StepError(f"image {i + 1}: Tesseract took longer than {OCR_TIMEOUT} s") from None
            if done.returncode != 0:
                raise StepError(f"image {i + 1}: Tesseract failed: {done.stderr.decode(errors='replace')[:300]}",
                                retryable=False)
            texts.append(done.stdout.decode(errors="replace").strip())
    return {"texts": texts, "text": "\n\n".join(texts), "images": len(texts)}
