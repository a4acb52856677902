"""The plugin cache's guarantees: only verified wheels become visible, nothing half-written stays."""
import hashlib
import json
import os
import stat
import subprocess
import sys
import textwrap
import time

import pytest
import requests

from saltext_masterplugin.core.errors import DownloadError
from saltext_masterplugin.core.errors import LockBusyError
from saltext_masterplugin.core.errors import PluginCacheError
from saltext_masterplugin.core.plugin_cache import PluginCache
from saltext_masterplugin.core.wheels import Offer
from tests.support.helpers import assert_cache_verified

NAME = "SSEAPE-8.18.3.6-py3-none-any.whl"
DATA = b"wheel bytes " * 1000


class FakeResponse:
    def __init__(self, chunks, length=None, fail_after=None, error=RuntimeError("boom")):
        self.chunks = chunks
        self.headers = {} if length is None else {"Content-Length": str(length)}
        self.fail_after = fail_after
        self.error = error
        self.closed = False

    def iter_content(self, _size):
        for index, chunk in enumerate(self.chunks):
            if self.fail_after is not None and index >= self.fail_after:
                raise self.error
            yield chunk

    def close(self):
        self.closed = True


class FakeClient:
    def __init__(self, response):
        self.response = response
        self.urls = []

    def open_download(self, url):
        self.urls.append(url)
        return self.response


def offer(data=DATA, sha256=None, filename=NAME):
    return Offer(
        key="current",
        version="8.18.3.6",
        filename=filename,
        sha256=sha256 or hashlib.sha256(data).hexdigest(),
        url="https://raas/static/master_plugins/" + filename,
    )


@pytest.fixture
def cache(tmp_path):
    return PluginCache(tmp_path / "plugin_cache", "SSEAPE", max_size=1024 * 1024, lock_timeout=0)


def chunks(data, size=4096):
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_fetch_verifies_and_records(cache):
    client = FakeClient(FakeResponse(chunks(DATA), length=len(DATA)))
    assert cache.sync([offer()], client) == {"fetched": [NAME], "cached": [], "repaired": []}
    assert_cache_verified(cache.directory, expect=[NAME])
    mode = stat.S_IMODE(os.stat(cache.directory).st_mode)
    assert mode == 0o700
    entry = cache.manifest()[NAME]
    assert entry["size"] == len(DATA)
    assert entry["source"].endswith(NAME)
    assert entry["version"] == "8.18.3.6"
    assert entry["fetched"]
    assert client.response.closed
    # A second sync fetches nothing.
    assert cache.sync([offer()], client)["cached"] == [NAME]
    assert len(client.urls) == 1


def test_exception_mid_write_leaves_no_file(cache):
    client = FakeClient(FakeResponse(chunks(DATA), length=len(DATA), fail_after=2))
    with pytest.raises(RuntimeError, match="boom"):
        cache.sync([offer()], client)
    assert os.listdir(cache.directory) == [".lock"]
    assert cache.cached() == []


def test_broken_stream_is_a_clear_error(cache):
    error = requests.exceptions.ChunkedEncodingError("connection broken")
    client = FakeClient(FakeResponse(chunks(DATA), length=len(DATA), fail_after=1, error=error))
    with pytest.raises(DownloadError, match=r"broke off after 4096 bytes of 12000"):
        cache.sync([offer()], client)
    assert_cache_verified(cache.directory, expect=[])


def test_truncated_body_is_refused(cache):
    client = FakeClient(FakeResponse(chunks(DATA)[:1], length=len(DATA)))
    with pytest.raises(DownloadError, match="truncated: 4096 of 12000 bytes"):
        cache.sync([offer()], client)
    assert_cache_verified(cache.directory, expect=[])


def test_sha256_mismatch_is_refused_and_keeps_the_old_copy(cache):
    good = FakeClient(FakeResponse(chunks(DATA), length=len(DATA)))
    cache.sync([offer()], good)
    before = (cache.directory, open(os.path.join(cache.directory, NAME), "rb").read())
    bad = FakeClient(FakeResponse(chunks(b"X" + DATA[1:]), length=len(DATA)))
    new_sha = "0" * 64  # RaaS now advertises another hash: we must fetch, and the bytes fail it
    with pytest.raises(DownloadError) as err:
        cache.sync([offer(sha256=new_sha)], bad)
    assert f"sha256 mismatch for {NAME}: expected 00000000" in str(err.value)
    assert "the cached copy was not replaced" in str(err.value)
    assert open(os.path.join(*before[:1], NAME), "rb").read() == before[1]
    assert_cache_verified(cache.directory, expect=[NAME])


def test_size_cap_without_content_length(cache):
    cache.max_size = 10000
    client = FakeClient(FakeResponse(chunks(DATA)))
    with pytest.raises(DownloadError, match="exceeds the limit of 10000 bytes"):
        cache.sync([offer()], client)
    assert_cache_verified(cache.directory, expect=[])


def test_size_cap_refused_from_content_length_before_reading(cache):
    cache.max_size = 10000
    response = FakeResponse(chunks(DATA), length=len(DATA), fail_after=0)
    with pytest.raises(DownloadError, match="12000 bytes, over the limit"):
        cache.sync([offer()], FakeClient(response))
    assert response.closed


def test_tampered_wheel_is_not_used_and_is_fetched_again(cache):
    client = FakeClient(FakeResponse(chunks(DATA), length=len(DATA)))
    cache.sync([offer()], client)
    with open(os.path.join(cache.directory, NAME), "r+b") as fh:
        fh.write(b"evil")
    assert cache.cached() == []
    assert not cache.verify(NAME)
    client.response = FakeResponse(chunks(DATA), length=len(DATA))
    result = cache.sync([offer()], client)
    assert result["repaired"] == [NAME] and result["fetched"] == [NAME]
    assert_cache_verified(cache.directory, expect=[NAME])


def test_unlisted_file_is_not_trusted(cache):
    os.makedirs(cache.directory)
    with open(os.path.join(cache.directory, NAME), "wb") as fh:
        fh.write(DATA)
    assert cache.cached() == []
    client = FakeClient(FakeResponse(chunks(DATA), length=len(DATA)))
    assert cache.sync([offer()], client)["fetched"] == [NAME]


def test_partial_files_of_a_crashed_writer_are_removed(cache):
    os.makedirs(cache.directory)
    partial = os.path.join(cache.directory, ".partial-abc.whl")
    with open(partial, "wb") as fh:
        fh.write(b"half")
    cache.sync([], FakeClient(None))
    assert not os.path.exists(partial)


def test_unreadable_manifest_is_ignored_not_fatal(cache, caplog):
    os.makedirs(cache.directory)
    with open(cache.manifest_path, "w", encoding="utf-8") as fh:
        fh.write("{not json")
    assert cache.manifest() == {}
    assert "Ignoring unreadable plugin cache manifest" in caplog.text


@pytest.mark.parametrize("failing", ["wheel", "manifest"])
def test_a_failed_rename_leaves_the_cache_as_it_was(cache, monkeypatch, failing):
    client = FakeClient(FakeResponse(chunks(DATA), length=len(DATA)))
    cache.sync([offer()], client)
    before = open(cache.manifest_path, encoding="utf-8").read()
    real_replace = os.replace

    def replace(src, dst):
        if (failing == "manifest") == dst.endswith("manifest.json"):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    other = offer(filename="SSEAPE-8.16.0.24-py3-none-any.whl")
    client.response = FakeResponse(chunks(DATA), length=len(DATA))
    with pytest.raises((OSError, PluginCacheError), match="No space left on device"):
        cache.sync([other], client)
    monkeypatch.undo()
    assert open(cache.manifest_path, encoding="utf-8").read() == before
    assert json.loads(before)["wheels"].keys() == {NAME}
    assert sorted(os.listdir(cache.directory)) == [".lock", NAME, "manifest.json"]
    assert_cache_verified(cache.directory, expect=[NAME])


def test_cache_refuses_path_filenames(cache):
    with pytest.raises(Exception, match="contains a path"):
        cache.path("../" + NAME)


def test_writers_are_serialised_across_processes(cache, tmp_path):
    """Another process holding the cache lock makes a writer fail after its timeout, naming it."""
    os.makedirs(cache.directory)
    ready = tmp_path / "ready"
    script = textwrap.dedent(
        f"""
        import pathlib, time
        from saltext_masterplugin.core.plugin_cache import PluginCache
        cache = PluginCache({cache.directory!r}, "SSEAPE", 1, 0)
        with cache.lock("test holder"):
            pathlib.Path({str(ready)!r}).write_text("x")
            time.sleep(30)
        """
    )
    holder = subprocess.Popen([sys.executable, "-c", script])
    try:
        for _ in range(200):
            if ready.exists():
                break
            holder.poll()
            assert holder.returncode is None
            time.sleep(0.05)
        cache.lock_timeout = 0.3
        with pytest.raises(LockBusyError) as err:
            cache.sync([offer()], FakeClient(None))
        assert f"pid {holder.pid} (test holder)" in str(err.value)
        assert "gave up after 0.3 s" in str(err.value)
    finally:
        holder.kill()
        holder.wait()
    # Once the holder is gone, the lock is free again.
    client = FakeClient(FakeResponse(chunks(DATA), length=len(DATA)))
    assert cache.sync([offer()], client)["fetched"] == [NAME]
