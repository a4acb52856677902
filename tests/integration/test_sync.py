"""``salt <minion> master_plugin.*`` through real daemons fills the real master's plugin cache."""
import os

import pytest

from tests.support.helpers import CURRENT_WHEEL
from tests.support.helpers import ROLLBACK_WHEEL
from tests.support.helpers import assert_cache_verified
from tests.support.helpers import sha256_of

pytestmark = [pytest.mark.slow]


@pytest.fixture
def cache_dir(master):
    return os.path.join(master.config["cachedir"], "plugin_cache")


def test_sync_fills_the_masters_plugin_cache(salt_cli, minion, session_raas, cache_dir, wheels):
    before = len(session_raas.downloads())
    ret = salt_cli.run("master_plugin.sync", minion_tgt=minion.id)
    assert ret.returncode == 0, ret
    assert sorted(ret.data["fetched"]) == sorted([CURRENT_WHEEL, ROLLBACK_WHEEL])
    assert ret.data["cache_dir"] == cache_dir
    assert_cache_verified(cache_dir, expect=[CURRENT_WHEEL, ROLLBACK_WHEEL])
    assert sha256_of(os.path.join(cache_dir, CURRENT_WHEEL)) == sha256_of(wheels["current"])
    assert len(session_raas.downloads()) == before + 2

    again = salt_cli.run("master_plugin.sync", minion_tgt=minion.id)
    assert again.returncode == 0, again
    assert again.data["fetched"] == []
    assert len(session_raas.downloads()) == before + 2


def test_versions_and_status_through_salt_call(salt_call_cli, salt_cli, minion, master):
    salt_cli.run("master_plugin.sync", minion_tgt=minion.id)
    versions = salt_call_cli.run("master_plugin.versions")
    assert versions.returncode == 0, versions
    assert [(v["key"], v["version"], v["cached"]) for v in versions.data] == [
        ("current", "8.18.3.6", True),
        ("rollback", "8.16.0.24", True),
    ]
    status = salt_call_cli.run("master_plugin.status")
    assert status.returncode == 0, status
    assert status.data["master_id"] == master.config["id"]
    assert status.data["latest_version"] == "8.18.3.6"
    assert status.data["rollback_version"] == "8.16.0.24"
    assert status.data["cached_versions"] == ["8.18.3.6", "8.16.0.24"]
    # The test environment's Python has Salt but no plugin installed.
    assert status.data["installed_version"] is None
    assert status.data["plugin_status"] == "needs_update"


def test_unquoted_version_on_the_command_line(salt_cli, minion, session_raas):
    before = len(session_raas.requests)
    ret = salt_cli.run("master_plugin.sync", "version=8.20", minion_tgt=minion.id)
    assert ret.returncode != 0
    assert "Quote the version" in str(ret.data)
    assert len(session_raas.requests) == before
