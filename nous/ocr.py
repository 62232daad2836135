"""Reading text in images with Tesseract: the one place that runs the `tesseract` command.

Used by the feedback attachments' background job, the workflows' `ocr.image` step and the system page
(whether text recognition is available, and why not). It imports no area. Tesseract is a separate
program (Debian: `tesseract-ocr tesseract-ocr-eng`); without it nothing fails, `available()` says why.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

TIMEOUT = 60
UNAVAILABLE = "text recognition not available"
INSTALL_HINT = "install the Debian packages tesseract-ocr and tesseract-ocr-eng"


class OcrError(RuntimeError):
    """Tesseract ran but could not read the image (or took too long)."""


class OcrTimeout(OcrError):
    """Tesseract took longer than allowed (worth another try later)."""


class OcrUnavailable(OcrError):
    """There is no `tesseract` command on this machine."""


@dataclass(frozen=True)
class Availability:
    available: bool
    detail: str  # the version when available, else why not


def binary() -> str | None:
    return shutil.which("tesseract")


def available() -> Availability:
    """Whether this process can read text in images, with the version or the reason it cannot."""
    path = binary()
    if path is None:
        return Availability(False, f"no `tesseract` command on this machine's PATH; {INSTALL_HINT}")
    try:
        done = subprocess.run([path, "--list-langs"], capture_output=True, timeout=10, check=False)
        version = subprocess.run([path, "--version"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Availability(False, f"`{path}` does not run: {exc}")
    langs = done.stdout.decode(errors="replace").split()
    if "eng" not in langs:
        return Availability(False, f"Tesseract has no English data (eng); {INSTALL_HINT}")
    first = (version.stdout or version.stderr).decode(errors="replace").strip().splitlines()
    return Availability(True, first[0] if first else path)


def read_file(path: Path, lang: str = "eng", timeout: int = TIMEOUT, exe: str | None = None) -> str:
    """The text Tesseract reads in the image file at `path` (`exe`: the command, found on PATH by default)."""
    exe = exe or binary()
    if exe is None:
        raise OcrUnavailable(UNAVAILABLE)
    try:
        done = subprocess.run([exe, str(path), "stdout", "-l", lang], capture_output=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        raise OcrTimeout(f"Tesseract took longer than {timeout} s") from None
    except OSError as exc:
        raise OcrUnavailable(f"{UNAVAILABLE}: {exc}") from None
    if done.returncode != 0:
        raise OcrError(f"Tesseract failed: {done.stderr.decode(errors='replace')[:300]}")
    return done.stdout.decode(errors="replace").strip()


def read_bytes(data: bytes, suffix: str = ".png", lang: str = "eng", timeout: int = TIMEOUT) -> str:
    """The text in an image held in memory (written to a private temporary file for Tesseract)."""
    if binary() is None:
        raise OcrUnavailable(UNAVAILABLE)
    with tempfile.TemporaryDirectory(prefix="nous-ocr-") as tmp:
        path = Path(tmp) / f"image{suffix}"
        path.write_bytes(data)
        return read_file(path, lang=lang, timeout=timeout)
