"""
The plugin cache: ``<master cachedir>/plugin_cache``.

Only verified wheels are visible in it.  A download streams into a temporary file in the cache
folder, hashing as the bytes arrive, and is renamed into place (``os.replace``) only after its
sha256 and size match; every failure removes the temporary file and leaves the cache as it was.
``manifest.json`` (written atomically) records each wheel's sha256, size, source URL and fetch
time; a wheel whose bytes no longer match its manifest entry is never used and is fetched again.
One ``flock`` on ``.lock`` serialises writers across processes.
"""
import datetime
import glob
import hashlib
import hmac
import json
import logging
import os
import tempfile

import requests
from packaging.version import InvalidVersion
from packaging.version import Version

from saltext_masterplugin.core.errors import DownloadError
from saltext_masterplugin.core.errors import InvalidWheelError
from saltext_masterplugin.core.errors import PluginCacheError
from saltext_masterplugin.core.errors import RaasError
from saltext_masterplugin.core.files import CHUNK
from saltext_masterplugin.core.files import atomic_write_json
from saltext_masterplugin.core.files import fsync_dir
from saltext_masterplugin.core.files import private_dir
from saltext_masterplugin.core.files import remove_quietly
from saltext_masterplugin.core.files import sha256_file
from saltext_masterplugin.core.locking import FileLock
from saltext_masterplugin.core.wheels import wheel_version

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
LOCK = ".lock"
TEMP_PREFIX = ".partial-"
MANIFEST_FORMAT = 1


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _short(digest):
    return f"{digest[:8]}…"


class PluginCache:
    """
    :param directory: the cache folder (created 0700 on first write).
    :param project: the plugin's project name (``SSEAPE``); other wheels are refused.
    :param max_size: the largest download accepted, in bytes.
    :param lock_timeout: how long a writer waits for another one, in seconds.
    """

    def __init__(self, directory, project, max_size, lock_timeout):
        self.directory = str(directory)
        self.project = project
        self.max_size = max_size
        self.lock_timeout = lock_timeout

    # -- reading ------------------------------------------------------------------------------

    @property
    def manifest_path(self):
        return os.path.join(self.directory, MANIFEST)

    def path(self, filename):
        wheel_version(filename, self.project)  # refuses anything but a bare wheel name
        return os.path.join(self.directory, filename)

    def manifest(self):
        """The manifest's ``wheels`` mapping (filename -> entry); empty when there is none."""
        try:
            with open(self.manifest_path, encoding="utf-8") as fh:
                data = json.load(fh)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as err:
            log.warning(
                "Ignoring unreadable plugin cache manifest %s (%s); its wheels will be "
                "verified against RaaS and fetched again",
                self.manifest_path,
                err,
            )
            return {}
        wheels = data.get("wheels") if isinstance(data, dict) else None
        return {k: v for k, v in (wheels or {}).items() if isinstance(v, dict)}

    def verify(self, filename, sha256=None, entry=None):
        """
        True when ``filename`` is in the cache, has a manifest entry, and its bytes hash to that
        entry (and to ``sha256`` when given).  Never raises for a missing or damaged file.
        """
        if entry is None:
            entry = self.manifest().get(filename)
        if not entry:
            return False
        if sha256 and not hmac.compare_digest(str(entry.get("sha256", "")), sha256):
            return False
        try:
            digest, size = sha256_file(self.path(filename))
        except (OSError, InvalidWheelError):
            return False
        return size == entry.get("size") and hmac.compare_digest(digest, str(entry.get("sha256")))

    def cached(self):
        """
        The verified wheels in the cache: a list of ``{filename, version, sha256, size, source,
        fetched}``, newest version first.  Damaged or unlisted files are left out.
        """
        manifest = self.manifest()
        result = []
        for filename, entry in manifest.items():
            if self.verify(filename, entry=entry):
                result.append(dict(entry, filename=filename))
        result.sort(key=lambda e: _version_key(e.get("version")), reverse=True)
        return result

    def lock(self, purpose, timeout=None):
        try:
            private_dir(self.directory)
        except OSError as err:
            raise PluginCacheError(
                f"cannot create the plugin cache {self.directory}: {err.strerror}"
            ) from err
        return FileLock(
            os.path.join(self.directory, LOCK),
            timeout=self.lock_timeout if timeout is None else timeout,
            purpose=purpose,
        )

    # -- writing ------------------------------------------------------------------------------

    def sync(self, offers, client):
        """
        Fetch every offer that is not in the cache verified, under the cache lock.

        Returns ``{"fetched": [filenames], "cached": [filenames], "repaired": [filenames]}``:
        ``repaired`` lists wheels whose cached bytes no longer matched and were fetched again.
        A wheel that can't be fetched does not stop the others; once all were tried,
        :class:`DownloadError` names every failure and what was fetched.
        """
        result = {"fetched": [], "cached": [], "repaired": []}
        failures = []
        with self.lock("plugin cache sync"):
            self.remove_partials()
            manifest = self.manifest()
            for offer in offers:
                entry = manifest.get(offer.filename)
                if self.verify(offer.filename, offer.sha256, entry=entry):
                    result["cached"].append(offer.filename)
                    continue
                if entry and os.path.exists(os.path.join(self.directory, offer.filename)):
                    log.warning(
                        "Cached %s does not match its manifest or RaaS's sha256; fetching it "
                        "again",
                        offer.filename,
                    )
                    result["repaired"].append(offer.filename)
                try:
                    self._fetch_locked(offer, client)
                except (DownloadError, RaasError) as err:
                    failures.append(str(err))
                    continue
                result["fetched"].append(offer.filename)
        if failures:
            done = ", ".join(result["fetched"] + result["cached"]) or "none"
            raise DownloadError("; ".join(failures) + f" (verified in the cache: {done})")
        return result

    def remove_partials(self):
        """Remove temporary files a crashed writer left behind (call with the lock held)."""
        for path in glob.glob(os.path.join(glob.escape(self.directory), TEMP_PREFIX + "*")):
            log.info("Removing partial download %s", path)
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def _fetch_locked(self, offer, client):
        final = self.path(offer.filename)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=TEMP_PREFIX, suffix=".whl")
        try:
            with os.fdopen(fd, "wb") as fh:
                digest, size = self._stream(offer, client, fh)
                fh.flush()
                os.fsync(fh.fileno())
            if not hmac.compare_digest(digest, offer.sha256):
                raise DownloadError(
                    f"sha256 mismatch for {offer.filename}: expected {_short(offer.sha256)}, "
                    f"got {_short(digest)}; the cached copy was not replaced"
                )
            os.chmod(tmp, 0o644)
            os.replace(tmp, final)
        except OSError as err:
            remove_quietly(tmp)
            raise PluginCacheError(
                f"writing {offer.filename} into {self.directory} failed: {err.strerror}; "
                "free space or fix the folder's permissions, then sync again (the cached copy "
                "was not replaced)"
            ) from err
        except BaseException:
            remove_quietly(tmp)
            raise
        manifest = self.manifest()
        manifest[offer.filename] = {
            "version": offer.version,
            "sha256": digest,
            "size": size,
            "source": offer.url,
            "fetched": _now(),
        }
        try:
            fsync_dir(self.directory)
            atomic_write_json(self.manifest_path, {"format": MANIFEST_FORMAT, "wheels": manifest})
        except OSError as err:
            # A wheel the manifest does not list is never used; don't leave it lying there.
            os.unlink(final)
            raise PluginCacheError(
                f"cannot record {offer.filename} in {self.manifest_path}: {err.strerror}; "
                "the download was discarded"
            ) from err
        log.info("Fetched %s (%d bytes, sha256 %s) into %s", offer.filename, size, digest, final)

    def _stream(self, offer, client, fh):
        resp = client.open_download(offer.url)
        digest = hashlib.sha256()
        size = 0
        try:
            expected = resp.headers.get("Content-Length")
            expected = int(expected) if expected and expected.isdigit() else None
            if expected is not None and expected > self.max_size:
                raise DownloadError(
                    f"{offer.filename} is {expected} bytes, over the limit of {self.max_size} "
                    "(master_plugin:max_download_size); the cached copy was not replaced"
                )
            try:
                for chunk in resp.iter_content(CHUNK):
                    size += len(chunk)
                    if size > self.max_size:
                        raise DownloadError(
                            f"{offer.filename} exceeds the limit of {self.max_size} bytes "
                            "(master_plugin:max_download_size); download abandoned, the cached "
                            "copy was not replaced"
                        )
                    digest.update(chunk)
                    fh.write(chunk)
            except requests.exceptions.RequestException as err:
                raise DownloadError(
                    f"download of {offer.filename} broke off after {size} bytes"
                    + (f" of {expected}" if expected is not None else "")
                    + f" ({type(err).__name__}); the cached copy was not replaced"
                ) from err
        finally:
            resp.close()
        if expected is not None and size != expected:
            raise DownloadError(
                f"download of {offer.filename} is truncated: {size} of {expected} bytes; "
                "the cached copy was not replaced"
            )
        return digest.hexdigest(), size


def _version_key(version):
    try:
        return (1, Version(str(version)))
    except InvalidVersion:
        return (0, str(version))
