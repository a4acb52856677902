"""
Plugin versions and wheel names.

RaaS describes each plugin it offers by a wheel filename, a sha256 and a ``git_describe``; this
module turns that into :class:`Offer` records that are safe to act on: the filename is a bare
wheel name of the configured project, the version read from it agrees with ``git_describe``, the
sha256 is 64 hex digits, and the download URL is built by us, never taken from the server.
"""
import dataclasses
import re
import urllib.parse

from packaging.utils import InvalidWheelFilename
from packaging.utils import canonicalize_name
from packaging.utils import parse_wheel_filename
from packaging.version import InvalidVersion
from packaging.version import Version

from saltext_masterplugin.core.errors import InvalidWheelError
from saltext_masterplugin.core.errors import RaasProtocolError

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
DESCRIBE_RE = re.compile(r"^v?(?P<version>[0-9][0-9A-Za-z.+!-]*?)(?:-\d+-g[0-9a-f]+)?$")


@dataclasses.dataclass(frozen=True)
class Offer:
    """One plugin version RaaS offers (``key`` is ``current``, ``rollback``, ...)."""

    key: str
    version: str
    filename: str
    sha256: str
    url: str
    git_describe: str = None
    build_date: str = None
    message: str = None

    def to_dict(self):
        return dataclasses.asdict(self)


def wheel_version(filename, project):
    """
    Check that ``filename`` is a bare wheel filename of ``project`` and return its version string.

    Raises :class:`InvalidWheelError` for anything else: a path, a different project, a name
    that is not a wheel.
    """
    if not isinstance(filename, str) or not filename:
        raise InvalidWheelError(f"plugin filename {filename!r} is not a file name")
    if "/" in filename or "\\" in filename or filename in (".", "..") or "\x00" in filename:
        raise InvalidWheelError(
            f"refusing plugin filename {filename!r}: it contains a path, only a bare wheel "
            "file name is accepted"
        )
    try:
        name, version, _build, _tags = parse_wheel_filename(filename)
    except InvalidWheelFilename as err:
        raise InvalidWheelError(f"refusing plugin filename {filename!r}: {err}") from err
    if name != canonicalize_name(project):
        raise InvalidWheelError(
            f"refusing plugin filename {filename!r}: it is a wheel of {name!r}, "
            f"not of {project!r} (master_plugin:name)"
        )
    return str(version)


def describe_version(git_describe):
    """The version named by a ``git_describe`` such as ``v8.18.3.6``, or ``None``."""
    if not git_describe:
        return None
    match = DESCRIBE_RE.match(str(git_describe).strip())
    if not match:
        return None
    try:
        return str(Version(match.group("version")))
    except InvalidVersion:
        return None


def download_url(server, download_path, filename):
    """``server`` + ``download_path`` with the (quoted) filename filled in."""
    path = download_path.format(filename=urllib.parse.quote(filename))
    if not path.startswith("/"):
        path = "/" + path
    return server.rstrip("/") + path


def normalise_offer(key, raw, project, server, download_path):
    """Turn one entry of ``master.get_plugin_versions()`` into an :class:`Offer`."""
    if not isinstance(raw, dict):
        raise RaasProtocolError(f"RaaS's {key!r} plugin entry is not a mapping: {raw!r}")
    filename = raw.get("filename")
    version = wheel_version(filename, project)
    described = describe_version(raw.get("git_describe"))
    if raw.get("git_describe") and described != version:
        raise RaasProtocolError(
            f"RaaS's {key!r} plugin {filename} claims git_describe "
            f"{raw.get('git_describe')!r}, which does not match the wheel's version {version}"
        )
    sha256 = str(raw.get("sha256") or "").strip().lower()
    if not SHA256_RE.match(sha256):
        raise RaasProtocolError(
            f"RaaS's {key!r} plugin {filename} has no valid sha256 ({raw.get('sha256')!r})"
        )
    return Offer(
        key=key,
        version=version,
        filename=filename,
        sha256=sha256,
        url=download_url(server, download_path, filename),
        git_describe=raw.get("git_describe"),
        build_date=raw.get("build_date"),
        message=raw.get("message"),
    )


def normalise_offers(raw, project, server, download_path):
    """
    All offers in a ``master.get_plugin_versions()`` answer, ``current`` first, then
    ``rollback``, then any further keys RaaS may add, in name order.  Empty entries are skipped.
    """
    order = sorted(raw, key=lambda k: ({"current": 0, "rollback": 1}.get(k, 2), k))
    return [
        normalise_offer(key, raw[key], project, server, download_path)
        for key in order
        if raw[key]
    ]
