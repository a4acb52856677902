"""The example SLS and orchestration files, applied to a real supervised salt-master."""
import json
import os
import sys

import pytest

from tests.support.helpers import imported_version

pytestmark = [pytest.mark.slow]


def supervisord_pillar(supervised):
    return {
        "master_plugin": {
            "supervisord": {
                "conf_file": supervised.supervisord_conf,
                "supervisorctl": os.path.join(os.path.dirname(sys.executable), "supervisorctl"),
            }
        }
    }


def apply_supervisord_example(salt_cli, minion, supervised):
    return salt_cli.run(
        "state.apply",
        "master_plugin.update_supervisord",
        f"pillar={json.dumps(supervisord_pillar(supervised))}",
        minion_tgt=minion.id,
    )


def test_state_apply_update_supervisord(salt_cli, host_minion, supervised):
    before = supervised.running()
    ret = apply_supervisord_example(salt_cli, host_minion, supervised)
    assert ret.returncode == 0, ret
    states = ret.data
    plugin = states["master_plugin_|-SSEAPE_|-SSEAPE_|-updated"]
    assert plugin["changes"] == {"old": "8.16.0.24", "new": "8.18.3.6"}
    restart = next(v for k, v in states.items() if k.startswith("cmd_|-restart-salt-master"))
    assert restart["result"] is True, restart
    assert restart["changes"]["retcode"] == 0
    after = supervised.wait_running("8.18.3.6", timeout=60)
    assert after["master_pid"] != before["master_pid"]
    status = salt_cli.run("master_plugin.status", minion_tgt=host_minion.id).data
    assert status["plugin_status"] == "up_to_date"
    assert status["running_version"] == "8.18.3.6"

    # A second run changes nothing and restarts nothing.
    again = apply_supervisord_example(salt_cli, host_minion, supervised)
    assert again.returncode == 0, again
    assert all(not s["changes"] for s in again.data.values()), again.data
    assert supervised.running()["master_pid"] == after["master_pid"]


def test_orchestration_canary(master, host_minion, supervised):
    pillar = {"canary": host_minion.id, "sls": "master_plugin.update_supervisord"}
    pillar.update(supervisord_pillar(supervised))
    ret = master.salt_run_cli(timeout=300).run(
        "state.orchestrate", "orch.master_plugin_rollout", f"pillar={json.dumps(pillar)}"
    )
    assert ret.returncode == 0, ret
    supervised.wait_running("8.18.3.6", timeout=60)
    assert imported_version(supervised.python) == "8.18.3.6"


def test_orchestrated_rollout_over_three_masters(master, make_fleet, session_raas):
    """canary first, then the rest; supervisord settings come from each master's own config."""
    fleet = make_fleet()
    pillar = {"canary": "host1-minion", "targets": "host*-minion",
              "sls": "master_plugin.update_supervisord"}
    ret = master.salt_run_cli(timeout=600).run(
        "state.orchestrate", "orch.master_plugin_rollout", f"pillar={json.dumps(pillar)}"
    )
    assert ret.returncode == 0, ret
    for host in fleet.values():
        assert host.wait_running("8.18.3.6", timeout=60)["version"] == "8.18.3.6"
        assert imported_version(host.python) == "8.18.3.6"
    canary_calls = [c for c in session_raas.calls_of("set_plugin_status") if c["args"][0] == "master1"]
    rest_calls = [c for c in session_raas.calls_of("set_plugin_status") if c["args"][0] != "master1"]
    assert canary_calls and rest_calls
    first_rest = session_raas.calls.index(rest_calls[0])
    assert all(session_raas.calls.index(c) < first_rest for c in canary_calls)


def test_orchestrated_rollout_stops_after_a_failed_canary(master, make_fleet, session_raas):
    fleet = make_fleet(host1={"supervisord_conf": "/nonexistent/supervisord.conf"})
    pillar = {"canary": "host1-minion", "targets": "host*-minion",
              "sls": "master_plugin.update_supervisord"}
    ret = master.salt_run_cli(timeout=600).run(
        "state.orchestrate", "orch.master_plugin_rollout", f"pillar={json.dumps(pillar)}"
    )
    assert ret.returncode != 0
    assert fleet["host2-minion"].running()["version"] == "8.16.0.24"
    assert imported_version(fleet["host2-minion"].python) == "8.16.0.24"
    assert not [c for c in session_raas.calls_of("set_plugin_status") if c["args"][0] != "master1"]
