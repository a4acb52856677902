"""``salt-run master_plugin.update`` with no target updates the master it runs on."""
import json
import subprocess

import pytest

pytestmark = [pytest.mark.slow]

SALT_RUN = "import salt.scripts; salt.scripts.salt_run()"


def salt_run(host, *args):
    proc = subprocess.run(
        [host.python, "-c", SALT_RUN, "-c", host.conf_dir, "--out=json", *args],
        capture_output=True, text=True, timeout=300, check=False,
    )
    return proc


def test_local_update_restarts_its_own_master_and_waits(supervised, session_raas):
    before = supervised.running()
    proc = salt_run(supervised, "master_plugin.update")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    after = supervised.running()
    assert after["version"] == "8.18.3.6"
    assert after["master_pid"] != before["master_pid"]
    calls = [c["args"][1] for c in session_raas.calls_of("set_plugin_status")]
    assert calls == ["upgrading", "restarting", "up_to_date"]

    status = salt_run(supervised, "master_plugin.status")
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    row = data["masters"]["supervised_master"]
    assert row["plugin_status"] == "up_to_date"
    assert row["running_version"] == "8.18.3.6"
