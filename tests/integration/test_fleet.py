"""
``salt-run master_plugin.status`` / ``update`` over three master hosts, each a real salt-minion
plus a real salt-master under supervisord, and a minion on a host without a salt-master.
Every case asserts on the live masters' running versions and on what RaaS received.
"""
import pytest

pytestmark = [pytest.mark.slow]

HOSTS = "host1-minion,host2-minion,host3-minion"
WITH_WEB = HOSTS + ",web1-minion"


def sent(raas, master_id):
    return [c["args"][1] for c in raas.calls_of("set_plugin_status") if c["args"][0] == master_id]


def run(master, *args):
    return master.salt_run_cli(timeout=900).run(*args)


def running(fleet):
    return {minion: (host.running() or {}).get("version") for minion, host in fleet.items()}


def test_status_of_the_fleet(master, make_fleet, host_minions):
    make_fleet()
    ret = run(master, "master_plugin.status", f"tgt={WITH_WEB}", "tgt_type=list")
    assert ret.returncode == 0, ret
    data = ret.data
    assert sorted(data["masters"]) == ["host1-minion", "host2-minion", "host3-minion"]
    for minion, row in data["masters"].items():
        assert row["plugin_status"] == "needs_update"
        assert row["installed_version"] == row["running_version"] == "8.16.0.24"
        assert row["master_id"] == "master" + minion[4]
    assert data["counts"] == {"needs_update": 3}
    assert list(data["not_masters"]) == ["web1-minion"]
    assert data["no_answer"] == []


def test_plan_only_changes_nothing(master, make_fleet, session_raas):
    fleet = make_fleet()
    ret = run(master, "master_plugin.update", f"tgt={WITH_WEB}", "tgt_type=list", "test=True",
              "batch=1")
    assert ret.returncode == 0, ret
    plan = ret.data["plan"]
    assert plan["groups"] == [["host1-minion"], ["host2-minion"], ["host3-minion"]]
    assert list(plan["not_masters"]) == ["web1-minion"]
    assert running(fleet) == dict.fromkeys(fleet, "8.16.0.24")
    assert session_raas.calls_of("set_plugin_status") == []


def test_all_updated_and_healthy(master, make_fleet, session_raas):
    fleet = make_fleet()
    pids = {m: h.running()["master_pid"] for m, h in fleet.items()}
    ret = run(master, "master_plugin.update", f"tgt={WITH_WEB}", "tgt_type=list",
              "canary=1", "batch=2", "health_timeout=90")
    assert ret.returncode == 0, ret
    report = ret.data
    assert report["result"] is True
    assert report["summary"]["updated"] == sorted(fleet)
    assert report["summary"]["failed"] == []
    assert report["plan"]["groups"] == [["host1-minion"], ["host2-minion", "host3-minion"]]
    for minion, host in fleet.items():
        entry = report["masters"][minion]
        assert (entry["old"], entry["new"], entry["plugin_status"]) == (
            "8.16.0.24", "8.18.3.6", "up_to_date"
        )
        assert len(entry["jid"]) == 20 and entry["rolled_back"] is False
        live = host.running()
        assert live["version"] == "8.18.3.6" and live["master_pid"] != pids[minion]
        assert sent(session_raas, host.master_id) == ["upgrading", "restarting", "up_to_date"]
    # Progress lines reached the terminal.
    assert "canary: host1-minion" in ret.stdout
    assert "host3-minion: 8.16.0.24 -> 8.18.3.6, healthy" in ret.stdout


def test_failed_canary_touches_nothing_else(master, make_fleet, session_raas):
    fleet = make_fleet(
        host1={"restart": "command", "restart_command": ["true"], "restart_timeout": 3}
    )
    ret = run(master, "master_plugin.update", f"tgt={HOSTS}", "tgt_type=list",
              "health_timeout=60")
    assert ret.returncode != 0
    report = ret.data
    assert report["summary"]["failed"] == ["host1-minion"]
    assert report["summary"]["not_attempted"] == ["host2-minion", "host3-minion"]
    assert "stopped after canary" in report["summary"]["stopped"]
    assert report["masters"]["host1-minion"]["rolled_back"] is True
    assert running(fleet) == dict.fromkeys(fleet, "8.16.0.24")
    assert sent(session_raas, "master1") == ["upgrading", "restarting", "upgrade_failed"]
    assert sent(session_raas, "master2") == sent(session_raas, "master3") == []


def test_one_failure_stops_the_rollout(master, make_fleet, session_raas):
    fleet = make_fleet(
        host2={"restart": "command", "restart_command": ["true"], "restart_timeout": 3}
    )
    ret = run(master, "master_plugin.update", f"tgt={HOSTS}", "tgt_type=list",
              "canary=1", "batch=1", "max_failures=0", "health_timeout=60")
    assert ret.returncode != 0
    summary = ret.data["summary"]
    assert summary["updated"] == ["host1-minion"]
    assert summary["failed"] == ["host2-minion"]
    assert summary["not_attempted"] == ["host3-minion"]
    assert ret.data["masters"]["host2-minion"]["rolled_back"] is True
    assert running(fleet) == {
        "host1-minion": "8.18.3.6", "host2-minion": "8.16.0.24", "host3-minion": "8.16.0.24"
    }
    assert sent(session_raas, "master3") == []


def test_no_init_manager_is_restart_pending_not_failure(master, make_fleet, session_raas):
    fleet = make_fleet(host2={"restart": "service"})
    ret = run(master, "master_plugin.update", f"tgt={HOSTS}", "tgt_type=list",
              "canary=1", "batch=2", "health_timeout=90")
    assert ret.returncode == 0, ret
    summary = ret.data["summary"]
    assert summary["updated"] == ["host1-minion", "host3-minion"]
    assert summary["restart_pending"] == ["host2-minion"]
    assert summary["failed"] == []
    entry = ret.data["masters"]["host2-minion"]
    assert entry["plugin_status"] == "restarting"
    assert "restart salt-master by hand" in " ".join(entry["messages"])
    assert running(fleet) == {
        "host1-minion": "8.18.3.6", "host2-minion": "8.16.0.24", "host3-minion": "8.18.3.6"
    }
    assert sent(session_raas, "master2") == ["upgrading", "restarting"]


def test_a_second_fleet_update_fails_fast(master, host_minions):
    import os  # pylint: disable=import-outside-toplevel

    from saltext_masterplugin.core.locking import FileLock  # pylint: disable=import-outside-toplevel

    lock = os.path.join(master.config["cachedir"], "master_plugin_fleet.lock")
    with FileLock(lock, purpose="salt-run master_plugin.update jid 20261203000000000001 by ops"):
        ret = run(master, "master_plugin.update", f"tgt={HOSTS}", "tgt_type=list")
    assert ret.returncode != 0
    assert "jid 20261203000000000001 by ops" in ret.stdout + ret.stderr
