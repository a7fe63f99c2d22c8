"""Folders and object-store URLs as local files, listed and read by dlt's `filesystem` source.

A URL (s3://, gs://, az://, abfss://, file://, memory:// or any other fsspec protocol dlt
supports) names a folder (read recursively), a glob (`s3://bucket/exports/**/*.csv.gz`) or one
file. Each matching file is mirrored below a local folder at its path relative to the URL's
folder, so every file source reads it exactly like a local file.

Mirroring is incremental: a file already mirrored with the remote size and modification time is
reused, not downloaded again. The remote modification time becomes the local mtime, because
billing ranks deliveries by file mtime. Credentials come from dlt's config, secrets and
environment (`SOURCES__FILESYSTEM__CREDENTIALS__*`) and never reach a message: URLs are shown
without password or query string, and secret-looking environment values are masked.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from dlt.common.exceptions import MissingDependencyException
from dlt.extract.exceptions import ResourceExtractionError
from dlt.sources.filesystem import filesystem

from bimo.settings import Settings
from ingestion.dlt_settings import configure_dlt

CACHE_DIR = ".remote"
GLOB_CHARS = "*?["
MANIFEST_GLOB = "**/*-Manifest.json"
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SECRET_NAME = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL|SAS", re.IGNORECASE)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Progress = Callable[[int, int], None]


class RemoteError(ValueError):
    """A URL that cannot be listed or read; the message names it without credentials."""


@dataclass(frozen=True)
class Location:
    """A URL split into the folder dlt lists and a glob below it."""

    bucket_url: str
    file_glob: str = "**/*"
    is_glob: bool = False


@dataclass
class MirrorResult:
    """What one mirror did: the local files (in listing order) and how many were downloaded."""

    url: str
    root: Path
    files: list[Path] = field(default_factory=list)
    downloaded: int = 0
    reused: int = 0
    folder: bool = True  # the URL named a folder, not a glob or one file

    def __str__(self) -> str:
        return (
            f"{self.url}: {len(self.files)} files "
            f"({self.downloaded} downloaded, {self.reused} reused)"
        )


def is_url(text: str | os.PathLike[str]) -> bool:
    """True for `scheme://…`; local paths (including Windows drives) are not URLs."""
    return bool(_URL.match(str(text)))


def redact(url: str) -> str:
    """The URL without its password and query string (which may hold a SAS token)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = f"{userinfo.split(':', 1)[0]}:***@{host}" if ":" in userinfo else netloc
    return f"{parts.scheme}://{netloc}{parts.path}" + ("?***" if parts.query else "")


def split_url(url: str) -> Location:
    """`s3://bucket/exports/**/*.csv.gz` → (`s3://bucket/exports`, `**/*.csv.gz`); a URL
    without a glob lists its folder recursively."""
    parts = urlsplit(url)
    if not is_url(url) or any(ch in parts.netloc for ch in GLOB_CHARS):
        raise RemoteError(f"not a folder or object-store URL: {redact(url)}")
    segments = parts.path.split("/")
    if ".." in segments:
        raise RemoteError(f"'..' is not allowed in a URL: {redact(url)}")
    cut = next((i for i, s in enumerate(segments) if any(c in s for c in GLOB_CHARS)), None)
    folder = "/".join(segments[:cut]).rstrip("/")
    pattern = "/".join(segments[cut:]) if cut is not None else ""
    query = f"?{parts.query}" if parts.query else ""
    base = f"{parts.scheme}://{parts.netloc}{folder}{query}"
    return Location(base, pattern or "**/*", is_glob=bool(pattern))


def safe_path(root: Path, relative: str) -> Path:
    """`root / relative`, refusing any relative path that could leave `root`."""
    rel = PurePosixPath(relative)
    if not rel.parts or rel.is_absolute() or ".." in rel.parts or "\x00" in relative:
        raise RemoteError(f"refusing a file path outside the mirror folder: {relative!r}")
    target = root.joinpath(*rel.parts)
    if not target.resolve().is_relative_to(root.resolve()):
        raise RemoteError(f"refusing a file path outside the mirror folder: {relative!r}")
    return target


def cache_dir(location: Location, cache_root: Path) -> Path:
    """`<cache_root>/<scheme>/<host>/<path>` for the folder a location lists."""
    parts = urlsplit(location.bucket_url)
    user, _, host = parts.netloc.rpartition("@")
    user = user.split(":", 1)[0]  # never a password in a folder name
    host = re.sub(r"[^\w.@=-]", "_", f"{user}@{host}" if user else host)
    relative = "/".join(p for p in (parts.scheme, host, parts.path.strip("/")) if p)
    return safe_path(cache_root, relative)


def list_files(location: Location) -> list[dict]:
    """The files dlt's `filesystem` source lists for a location (FileItemDicts)."""
    configure_dlt()
    try:
        return list(filesystem(bucket_url=location.bucket_url, file_glob=location.file_glob))
    except Exception as exc:
        url = location.bucket_url
        raise RemoteError(f"cannot list {redact(url)}: {_reason(exc, url)}") from None


def fetch(
    url: str,
    *,
    cache_root: Path,
    extra_globs: Iterable[str] = (),
    progress: Progress | None = None,
) -> MirrorResult:
    """Mirror what `url` names into `<cache_root>/<scheme>/<host>/<path>` and drop mirrored
    files that are gone remotely. `extra_globs` (below the URL's folder, e.g. billing
    manifests) are mirrored beside a glob's matches but not returned."""
    location, items = _resolve(url)
    root = cache_dir(location, cache_root)
    globs = list(extra_globs) if location.is_glob else []
    extra = [i for g in globs for i in list_files(Location(location.bucket_url, g, is_glob=True))]
    result = MirrorResult(redact(url), root, folder=not location.is_glob)
    _copy(items, result, progress)
    kept = set(result.files) | {_copy_one(item, root)[0] for item in extra}
    _prune(root, [location.file_glob, *globs], kept)
    return result


def mirror_landing(
    settings: Settings, *folders: str, log: Callable[[str], None] | None = None
) -> MirrorResult | None:
    """Mirror `BIMO_LANDING_URL`'s top-level `folders` (e.g. `billing`, `bimo-gateway`) into
    the landing folder; nothing to do when it is not set. Local landing files are never
    deleted."""
    if not settings.landing_url:
        return None
    _, items = _resolve(settings.landing_url)
    wanted = [i for i in items if PurePosixPath(i["relative_path"]).parts[0] in folders]
    result = MirrorResult(redact(settings.landing_url), settings.landing_dir)
    _copy(wanted, result, None)
    if log:
        log(f"mirrored {result} into {settings.landing_dir}")
    return result


def _resolve(url: str) -> tuple[Location, list[dict]]:
    location = split_url(url)
    items = list_files(location)
    head, _, name = location.bucket_url.partition("?")[0].rpartition("/")
    if not items and not location.is_glob and name and not head.endswith("/"):
        # the URL may name one file rather than a folder
        location = Location(head, name, is_glob=True)
        items = list_files(location)
    if not items:
        raise RemoteError(
            f"no files at {redact(url)} (it does not exist, is empty or matches nothing)"
        )
    return location, items


def _copy(items: list[dict], result: MirrorResult, progress: Progress | None) -> None:
    for n, item in enumerate(items, start=1):
        target, downloaded = _copy_one(item, result.root)
        result.files.append(target)
        result.downloaded += downloaded
        result.reused += not downloaded
        if progress:
            progress(n, len(items))


def _copy_one(item: dict, root: Path) -> tuple[Path, bool]:
    """Mirror one listed file unless the same size and mtime are already there."""
    target = safe_path(root, item["relative_path"])
    stamp = (item["modification_date"] - _EPOCH) // timedelta(microseconds=1)
    size = item.get("size_in_bytes")
    if target.is_file():
        st = target.stat()
        if st.st_mtime_ns // 1000 == stamp and size in (None, st.st_size):
            return target, False
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, item.open(mode="rb", compression="disable") as src:
            shutil.copyfileobj(src, out, 1 << 20)
        os.chmod(tmp, 0o644)
        os.utime(tmp, ns=(stamp * 1000, stamp * 1000))
        os.replace(tmp, target)
    except Exception as exc:
        Path(tmp).unlink(missing_ok=True)
        url = item["file_url"]
        raise RemoteError(f"cannot read {redact(url)}: {_reason(exc, url)}") from None
    return target, True


def _prune(root: Path, patterns: list[str], kept: set[Path]) -> None:
    """Drop mirrored files in the listing's scope that the listing no longer has."""
    for pattern in patterns:
        for name in glob.glob(pattern, root_dir=root, recursive=True):
            path = root / name
            if path.is_file() and path not in kept:
                path.unlink()


def _reason(exc: BaseException, url: str) -> str:
    """One line on what went wrong, with the URL's password and query string and
    secret-looking environment values masked."""
    if isinstance(exc, ResourceExtractionError):
        text = exc.msg
    elif isinstance(exc, MissingDependencyException):
        text = f"a package is missing, install {' '.join(exc.dependencies)}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    parts = urlsplit(url)
    secrets = [v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v) >= 6]
    for secret in sorted(
        {*secrets, parts.password or "", parts.query} - {""}, key=len, reverse=True
    ):
        text = text.replace(secret, "***")
    return " ".join(text.split())[:300]
