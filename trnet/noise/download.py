"""Resumable, checksum-verified download and safe extraction of the noise corpora.

A download goes to ``<dest_file>.part`` and is renamed onto ``dest_file`` only once its
size and checksum are right, so a file under the final name is always complete. A cut
connection is resumed with an HTTP ``Range`` request (a server that ignores it and answers
200 makes us start the file again). Archives are extracted into a temporary folder next to
the destination and renamed into place, so a half-extracted corpus never appears.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from rich.console import Console

from trnet.errors import TrnetError
from trnet.io import atomic_write

CHUNK = 1 << 20
_console = Console(stderr=True)


@dataclass(frozen=True)
class Corpus:
    """Where a noise corpus is published and what its archive unpacks to."""

    name: str
    url: str
    archive: str
    top_dir: str
    md5: str | None = None
    size: int | None = None
    sha256: str | None = None
    extracts_to: str | None = None
    """The archive's top folder when it is not ``top_dir`` (renamed to ``top_dir``)."""


ESC50_COMMIT = "5983fb0c35e751b452e7c562d9207f27b76ddf0d"
"""The ESC-50 commit whose archive is downloaded (a fixed tree, unlike ``master.zip``)."""
ESC50_SHA256: str | None = None
"""sha256 of GitHub's archive of :data:`ESC50_COMMIT`; None until recorded from a verified
download (trnet prints the digest of an archive without one). When set, it is enforced."""

CORPORA: dict[str, Corpus] = {
    # A commit's archive: the same files on every download (master.zip moves with the repo).
    # GitHub builds the zip on request, so the size is not published; the sha256 is checked
    # once recorded in ESC50_SHA256 (or given with --sha256).
    "esc50": Corpus(
        name="esc50",
        url=f"https://github.com/karolpiczak/ESC-50/archive/{ESC50_COMMIT}.zip",
        archive=f"ESC-50-{ESC50_COMMIT[:12]}.zip",
        top_dir="ESC-50-master",  # the folder name the recipes and docs use
        sha256=ESC50_SHA256,
        extracts_to=f"ESC-50-{ESC50_COMMIT}",
    ),
    # OpenSLR resource 17. The md5 and byte size are the values that Kaldi-/ESPnet-style
    # recipes (PaddleSpeech, wenet, kiwano, ...) check the OpenSLR archive against.
    "musan": Corpus(
        name="musan",
        url="https://www.openslr.org/resources/17/musan.tar.gz",
        archive="musan.tar.gz",
        top_dir="musan",
        md5="0c472d4fc0c5141eca47ad1ffeb2a7df",
        size=11086114085,
    ),
}


def get_corpus(name: str) -> Corpus:
    if name not in CORPORA:
        raise TrnetError(f"unknown corpus {name!r}; known: {', '.join(CORPORA)}")
    return CORPORA[name]


class _Interrupted(Exception):
    """The transfer stopped early; it can be resumed from the bytes already on disk."""


# ---------------------------------------------------------------- download


def download(
    url: str,
    dest_file: str | os.PathLike,
    expected_size: int | None = None,
    md5: str | None = None,
    sha256: str | None = None,
    chunk: int = CHUNK,
    retries: int = 5,
    backoff_s: float = 1.0,
    timeout_s: float = 60.0,
) -> Path:
    """Download ``url`` to ``dest_file`` (resuming ``dest_file.part``), verify, return it.

    A cut connection is retried ``retries`` times, each time resuming where it stopped.
    On a size or checksum mismatch raise :class:`TrnetError` naming the file, which is kept.
    """
    dest = Path(dest_file)
    if dest.is_file():
        _verify(dest, expected_size, md5, sha256)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    for attempt in range(retries + 1):
        try:
            _fetch(url, part, expected_size, chunk, timeout_s)
            break
        except _Interrupted as why:
            if attempt == retries:
                kept = (
                    f"{part} is kept and the next run resumes it"
                    if part.is_file() and part.stat().st_size
                    else "nothing was downloaded; the next run starts again"
                )
                raise TrnetError(
                    f"{url}: download failed after {retries + 1} attempts ({why}); {kept}"
                ) from None
            _console.print(f"[yellow]warning:[/] {url}: {why}; resuming (retry {attempt + 1})")
            time.sleep(backoff_s * (attempt + 1))
    _verify(part, expected_size, md5, sha256)
    os.replace(part, dest)
    return dest


def _fetch(url: str, part: Path, expected_size: int | None, chunk: int, timeout_s: float) -> None:
    """One attempt: request the missing bytes of ``part`` and append them."""
    offset = part.stat().st_size if part.is_file() else 0
    if expected_size is not None and offset > expected_size:
        _console.print(f"[yellow]warning:[/] {part}: larger than expected; starting again")
        offset = 0
        part.unlink()
    if expected_size is not None and offset == expected_size:
        return
    request = urllib.request.Request(url, headers={"User-Agent": "trnet-download"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout_s)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:  # nothing left after `offset`: the file is complete
            return
        if 500 <= err.code < 600:
            raise _Interrupted(f"HTTP {err.code}") from None
        raise TrnetError(f"{url}: HTTP {err.code} {err.reason}") from None
    except (urllib.error.URLError, OSError) as err:
        raise _Interrupted(str(getattr(err, "reason", err))) from None
    with response:
        start = _resume_point(response, offset)
        length = response.headers.get("Content-Length")
        total = start + int(length) if length is not None else expected_size
        _copy_body(response, part, start, total, chunk)


def _resume_point(response: http.client.HTTPResponse, offset: int) -> int:
    """Where the body starts: ``offset`` for a 206 answer, 0 when the server sent it all."""
    if response.status != 206:
        return 0
    content_range = response.headers.get("Content-Range", "")
    match = re.match(r"bytes (\d+)-", content_range)
    if match is None or int(match.group(1)) != offset:
        raise _Interrupted(f"asked for bytes {offset}-, got Content-Range {content_range!r}")
    return offset


def _copy_body(
    response: http.client.HTTPResponse, part: Path, start: int, total: int | None, chunk: int
) -> None:
    from tqdm import tqdm

    done = start
    with (
        open(part, "r+b" if start else "wb") as out,
        tqdm(
            total=total,
            initial=start,
            unit="B",
            unit_scale=True,
            desc=part.name,
            mininterval=0.2 if sys.stderr.isatty() else 30.0,  # a log file gets few lines
        ) as bar,
    ):
        out.seek(start)
        out.truncate()
        try:
            while block := response.read(chunk):
                out.write(block)
                done += len(block)
                bar.update(len(block))
        except (http.client.HTTPException, OSError) as err:
            raise _Interrupted(f"connection lost after {done} bytes ({err!r})") from None
    if total is not None and done < total:
        raise _Interrupted(f"connection closed after {done} of {total} bytes")


def _verify(path: Path, size: int | None, md5: str | None, sha256: str | None) -> None:
    keep = f"the file is kept for inspection; delete {path} to download it again"
    actual = path.stat().st_size
    if size is not None and actual != size:
        raise TrnetError(f"{path}: size {actual} bytes, expected {size}; {keep}")
    for algo, expected in (("md5", md5), ("sha256", sha256)):
        if expected is None:
            continue
        digest = file_digest(path, algo)
        if digest != expected.lower():
            raise TrnetError(f"{path}: {algo} {digest}, expected {expected}; {keep}")


def file_digest(path: str | os.PathLike, algo: str = "md5") -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------- extract


def extract(archive: str | os.PathLike, dest_dir: str | os.PathLike) -> list[Path]:
    """Unpack a ``.zip`` or ``.tar(.gz)`` into ``dest_dir``; return its top-level entries.

    Members with absolute paths, ``..`` components or links are refused before anything
    is written; a corrupt archive leaves ``dest_dir`` untouched.
    """
    archive, dest_dir = Path(archive), Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    for stale in dest_dir.glob(f".{archive.name}.*.extract"):  # left by a killed run
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{archive.name}.", suffix=".extract", dir=dest_dir))
    try:
        _unpack(archive, tmp)
        tops = sorted(tmp.iterdir())
        for top in tops:
            if (dest_dir / top.name).exists():
                raise TrnetError(
                    f"{dest_dir / top.name}: already exists; remove it to extract {archive}"
                )
        for top in tops:
            os.replace(top, dest_dir / top.name)
        return [dest_dir / top.name for top in tops]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _unpack(archive: Path, into: Path) -> None:
    name = archive.name.lower()
    try:
        if name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                for member in zf.namelist():
                    _check_member(archive, member)
                zf.extractall(into)
        elif name.endswith((".tar.gz", ".tgz", ".tar")):
            with tarfile.open(archive) as tf:
                for member in tf.getmembers():
                    _check_member(archive, member.name)
                    if not (member.isfile() or member.isdir()):
                        raise TrnetError(f"{archive}: member {member.name!r} is a link or device")
                tf.extractall(into, filter="data")
        else:
            raise TrnetError(f"{archive}: unknown archive type (expected .zip or .tar.gz)")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, OSError) as err:
        raise TrnetError(
            f"{archive}: cannot extract, corrupt or truncated archive ({err}); "
            "delete it to download it again"
        ) from None


def _check_member(archive: Path, member: str) -> None:
    path = PurePosixPath(member.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", member):
        raise TrnetError(f"{archive}: member {member!r} would be written outside the folder")


# ---------------------------------------------------------------- corpora


def fetch_corpus(
    name: str,
    dest: str | os.PathLike,
    url: str | None = None,
    md5: str | None = None,
    remove_archive: bool = False,
    sha256: str | None = None,
    **download_opts,
) -> Path:
    """Download and extract a registered corpus into ``dest``; return its folder.

    ``url`` points at a mirror (the published checksums still apply unless ``md5`` or
    ``sha256`` is given). An archive with no checksum on record is extracted with a
    warning giving its sha256. ``dest/.<name>.done`` is written last, so a second call
    does nothing.
    """
    corpus = get_corpus(name)
    dest = Path(dest)
    root = dest / corpus.top_dir
    marker = dest / f".{corpus.name}.done"
    if marker.is_file():
        _console.print(f"{corpus.name}: {marker} exists, nothing to do")
        return root
    own = md5 is None and sha256 is None
    size = corpus.size if own else None
    want_md5, want_sha256 = (corpus.md5, corpus.sha256) if own else (md5, sha256)
    archive = download(
        url or corpus.url, dest / corpus.archive, size, want_md5, want_sha256, **download_opts
    )
    if want_md5 is None and want_sha256 is None:
        _console.print(
            f"[yellow]warning:[/] {archive}: no checksum on record; its sha256 is "
            f"{file_digest(archive, 'sha256')} (check it, then pass --sha256 or record it)"
        )
    if root.exists():
        raise TrnetError(f"{root}: already exists but {marker} does not; remove it and rerun")
    tops = extract(archive, dest)
    inner = dest / corpus.extracts_to if corpus.extracts_to else None
    if inner is not None and inner in tops and root not in tops:
        os.replace(inner, root)
        tops = [root if top == inner else top for top in tops]
    if root not in tops:
        found = ", ".join(p.name for p in tops) or "nothing"
        wanted = " or ".join(f"{name}/" for name in (corpus.extracts_to, corpus.top_dir) if name)
        raise TrnetError(f"{archive}: expected it to hold {wanted}, found {found}")
    if remove_archive:
        archive.unlink()
    with atomic_write(marker) as f:
        f.write(f"{url or corpus.url}\n")
    return root
