"""
One real salt-master, run by a real supervisord, goes from plugin 8.16.0.24 to 8.18.3.6 through
``salt <minion> master_plugin.update``; the live master is asked what it runs afterwards.
"""
import subprocess

import pytest

from tests.support.helpers import imported_version

pytestmark = [pytest.mark.slow]


def statuses(raas, master_id):
    return [c["args"][1] for c in raas.calls_of("set_plugin_status") if c["args"][0] == master_id]


def test_update_with_a_real_restart(salt_cli, host_minion, supervised, session_raas, master):
    before = supervised.running()
    assert before["version"] == "8.16.0.24"

    ret = salt_cli.run("master_plugin.update", "restart=supervisord", minion_tgt=host_minion.id)
    assert ret.returncode == 0, ret
    data = ret.data
    assert data["result"] is True, data
    assert (data["old"], data["new"]) == ("8.16.0.24", "8.18.3.6")
    assert data["plugin_status"] == "up_to_date"
    assert data["restart"]["done"] is True

    # The live master runs the new plugin, in a new process.
    after = supervised.wait_running("8.18.3.6", timeout=60)
    assert after["master_pid"] != before["master_pid"]
    assert after["master_pid"] == data["restart"]["pid_after"]

    # The JID in the result is the real job's, and the history holds it.
    lookup = master.salt_run_cli().run("jobs.lookup_jid", data["jid"])
    assert lookup.returncode == 0, lookup
    assert lookup.data[host_minion.id]["new"] == "8.18.3.6"
    status = salt_cli.run("master_plugin.status", minion_tgt=host_minion.id).data
    assert status["plugin_status"] == "up_to_date"
    assert status["running_version"] == status["installed_version"] == "8.18.3.6"
    assert status["last_update_jid"] == data["jid"]
    assert status["master_pid"] == after["master_pid"]

    # RaaS heard every step, with the JID and the log.
    assert statuses(session_raas, "supervised_master") == ["upgrading", "restarting", "up_to_date"]
    last = session_raas.plugin_status["supervised_master"]
    assert last["last_update_jid"] == data["jid"]
    assert any("salt-master restarted" in m for m in last["log_messages"])


def test_update_without_an_init_manager_is_not_claimed_done(
    salt_cli, host_minion, supervised, session_raas
):
    before = supervised.running()
    ret = salt_cli.run("master_plugin.update", "restart=service", minion_tgt=host_minion.id)
    data = ret.data
    assert ret.returncode != 0
    assert data["result"] is False
    assert data["plugin_status"] == "restarting"
    assert data["restart"]["required"] is True
    assert "restart salt-master by hand" in data["restart"]["message"]
    assert "service.available is False" in data["restart"]["message"]

    # Installed, but the live master still runs the old plugin, and status says exactly that.
    assert imported_version(supervised.python) == "8.18.3.6"
    assert supervised.running() == before
    status = salt_cli.run("master_plugin.status", minion_tgt=host_minion.id).data
    assert status["plugin_status"] == "restarting"
    assert status["installed_version"] == "8.18.3.6"
    assert status["running_version"] == "8.16.0.24"
    assert "restart salt-master to load it" in status["reasons"][0]
    assert statuses(session_raas, "supervised_master") == ["upgrading", "restarting"]

    # Once a person restarts it, the same status reads up_to_date.
    subprocess.run(
        [supervised.python, "-m", "supervisor.supervisorctl", "-c", supervised.supervisord_conf,
         "restart", "salt-master"],
        check=True, capture_output=True,
    )
    supervised.wait_running("8.18.3.6", timeout=60)
    status = salt_cli.run("master_plugin.status", minion_tgt=host_minion.id).data
    assert status["plugin_status"] == "up_to_date"
    assert status["running_version"] == "8.18.3.6"


def test_a_broken_wheel_leaves_the_old_plugin_running(
    salt_cli, host_minion, supervised, session_raas, wheels
):
    before = supervised.running()
    session_raas.add_plugin("current", wheels["broken"])
    ret = salt_cli.run("master_plugin.update", "restart=supervisord", minion_tgt=host_minion.id)
    data = ret.data
    assert data["result"] is False
    assert data["plugin_status"] == "upgrade_failed"
    assert imported_version(supervised.python) == "8.16.0.24"
    assert supervised.running() == before  # never restarted, still serving 8.16.0.24
    assert statuses(session_raas, "supervised_master") == ["upgrading", "upgrade_failed"]
    status = salt_cli.run("master_plugin.status", minion_tgt=host_minion.id).data
    assert status["plugin_status"] == "upgrade_failed"
    assert status["last_update_jid"] == data["jid"]
