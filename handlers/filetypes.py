"""The file types the hub accepts, each recognised by its content and not only by its name.

A name's extension says what a file claims to be; ``identify`` checks that the bytes agree: an .xlsx
is a zip holding an Excel workbook, a .pdf starts with ``%PDF-``, a .csv or .txt is UTF-8 text, a .json
parses, an image starts with its format's signature. Everything here reads the disk: call it in a thread.
"""

from __future__ import annotations

import codecs
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ijson

_SAMPLE_BYTES = 64 * 1024


class UnsupportedFile(Exception):
    """Raised when a file is not of an accepted type, or its content is not what its name claims."""


def _head(path: Path, size: int = 1024) -> bytes:
    with path.open("rb") as file:
        return file.read(size)


def _is_pdf(path: Path) -> bool:
    # The header may follow a few bytes of junk; readers accept it within the first kilobyte.
    return b"%PDF-" in _head(path)


def _is_xlsx(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False
    return "[Content_Types].xml" in names and any(name.startswith("xl/") for name in names)


def _is_text(path: Path) -> bool:
    sample = _head(path, _SAMPLE_BYTES)
    if b"\x00" in sample:
        return False
    try:
        # Not final: the sample may end inside a multi-byte character.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _is_json(path: Path) -> bool:
    # Parsed as a stream of events, never built: a 50 MB upload checks in constant memory.
    try:
        with path.open("rb") as file:
            for _ in ijson.basic_parse(file, use_float=True):
                pass
    except ijson.JSONError:
        return False
    return True


def _signature(*prefixes: bytes) -> Callable[[Path], bool]:
    return lambda path: _head(path, 16).startswith(prefixes)


def _is_webp(path: Path) -> bool:
    head = _head(path, 12)
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


@dataclass(frozen=True, slots=True)
class FileKind:
    """An accepted type: its extensions, the content type it is served as, and its content check."""

    name: str
    content_type: str
    extensions: tuple[str, ...]
    description: str
    matches: Callable[[Path], bool]

    @property
    def is_text(self) -> bool:
        return self.name in ("csv", "txt")


KINDS = (
    FileKind("pdf", "application/pdf", ("pdf",), "a PDF document (it must start with %PDF-)", _is_pdf),
    FileKind(
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ("xlsx",),
        "an Excel workbook (a zip holding the xl/ parts)",
        _is_xlsx,
    ),
    FileKind("png", "image/png", ("png",), "a PNG image", _signature(b"\x89PNG\r\n\x1a\n")),
    FileKind("jpeg", "image/jpeg", ("jpg", "jpeg"), "a JPEG image", _signature(b"\xff\xd8\xff")),
    FileKind("gif", "image/gif", ("gif",), "a GIF image", _signature(b"GIF87a", b"GIF89a")),
    FileKind("webp", "image/webp", ("webp",), "a WebP image", _is_webp),
    FileKind("json", "application/json", ("json",), "a JSON document", _is_json),
    FileKind("csv", "text/csv", ("csv",), "UTF-8 text", _is_text),
    FileKind("txt", "text/plain", ("txt",), "UTF-8 text", _is_text),
)
_BY_EXTENSION = {extension: kind for kind in KINDS for extension in kind.extensions}
_BY_CONTENT_TYPE = {kind.content_type: kind for kind in KINDS}
ACCEPTED_EXTENSIONS = tuple(sorted(_BY_EXTENSION))


def extension_of(name: str) -> str:
    return name.rpartition(".")[2].lower() if "." in name else ""


def identify(path: Path, name: str) -> FileKind:
    """The kind ``name`` claims, once the content agrees; raises ``UnsupportedFile`` saying what is wrong."""
    extension = extension_of(name)
    kind = _BY_EXTENSION.get(extension)
    if kind is None:
        claimed = f".{extension} files are" if extension else "files without an extension are"
        raise UnsupportedFile(f"{claimed} not accepted; send one of: {', '.join(ACCEPTED_EXTENSIONS)}")
    if not kind.matches(path):
        raise UnsupportedFile(f"{name!r} is named .{extension} but its content is not {kind.description}")
    return kind


def recognise(path: Path, name: str = "", content_type: str = "") -> FileKind | None:
    """The kind of a file from elsewhere (a URL): by its name or content type when the content agrees,
    else by its content alone; ``None`` when it is none of the accepted kinds."""
    claimed = _BY_EXTENSION.get(extension_of(name)) or _BY_CONTENT_TYPE.get(content_type.split(";")[0].strip())
    if claimed is not None and claimed.matches(path):
        return claimed
    return next((kind for kind in KINDS if kind.name != "json" and kind.matches(path)), None)


def kind_of_content_type(content_type: str) -> FileKind | None:
    return _BY_CONTENT_TYPE.get(content_type)
