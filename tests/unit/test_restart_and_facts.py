"""Restart decisions, detaching, running-version logic, history and pip command lines."""
import os
import subprocess
import sys
import time

import pytest

from saltext_masterplugin.core import hostfacts
from saltext_masterplugin.core.history import History
from saltext_masterplugin.core.installer import pip_command
from saltext_masterplugin.core.restart import Restarter
from saltext_masterplugin.core.errors import MasterPluginError


def restarter(method, functions=None, pidfile="/nonexistent.pid", **options):
    return Restarter(method, functions or {}, options, pidfile)


def test_unknown_method_is_refused():
    with pytest.raises(MasterPluginError, match="must be one of service, supervisord, command, none"):
        restarter("reboot")


def test_no_init_system_means_a_manual_restart():
    calls = []
    out = restarter(
        "service",
        {"service.available": lambda name: calls.append(name) or False,
         "service.restart": lambda name: pytest.fail("must not restart")},
    ).restart(time.time())
    assert calls == ["salt-master"]
    assert out["required"] and not out["done"]
    assert out["message"].startswith("restart salt-master by hand: no init system manages")
    assert "systemctl restart salt-master" in out["how"]


def test_service_restart_calls_salts_service_module(tmp_path):
    pidfile = tmp_path / "master.pid"
    calls = []

    def restart(name):
        calls.append(name)
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        pidfile.write_text(str(child.pid))
        restart.child = child
        return True

    out = restarter(
        "service", {"service.available": lambda name: True, "service.restart": restart},
        pidfile=str(pidfile), service_name="salt-master-custom", restart_timeout=10,
    ).restart(time.time() - 5)
    try:
        assert calls == ["salt-master-custom"]
        assert out["done"] is True
        assert out["pid_after"] == restart.child.pid
    finally:
        restart.child.kill()
        restart.child.wait()


def test_a_master_that_does_not_come_back_is_a_failure(tmp_path):
    out = restarter(
        "service", {"service.available": lambda name: True, "service.restart": lambda name: True},
        pidfile=str(tmp_path / "none.pid"), restart_timeout=0.5,
    ).restart(time.time())
    assert out["failed"] is True and not out["done"]
    assert "did not come back" in out["message"]


def test_supervisord_not_managing_the_program():
    out = restarter(
        "supervisord", {"supervisord.status": lambda *a, **k: {"other": {"state": "RUNNING"}}},
        supervisord_conf="/etc/sv.conf",
    ).restart(time.time())
    assert out["required"]
    assert "supervisord does not manage a program 'salt-master'" in out["message"]
    assert out["how"] == "supervisorctl -c /etc/sv.conf restart salt-master"


def test_none_and_unset_command():
    assert "master_plugin:restart is none" in restarter("none").restart(0)["message"]
    assert "restart_command is not set" in restarter("command").restart(0)["message"]


def test_command_restart_detached_runs_in_its_own_session(tmp_path):
    marker = tmp_path / "marker"
    script = f"import os, time; time.sleep(0.5); open({str(marker)!r}, 'w').write(str(os.getsid(0)))"
    started = time.monotonic()
    out = restarter(
        "command", restart_command=[sys.executable, "-c", script], restart_detach=True
    ).restart(time.time())
    assert time.monotonic() - started < 0.5  # did not wait for it
    assert out["detached"] is True and not out["done"]
    for _ in range(100):
        if marker.exists() and marker.read_text():
            break
        time.sleep(0.05)
    assert int(marker.read_text()) != os.getsid(0)


def test_detaches_automatically_inside_the_masters_process_tree(tmp_path):
    """A process started by the 'master' must detach; an unrelated one must not."""
    code = (
        "import os, sys; from saltext_masterplugin.core.restart import Restarter;"
        "r = Restarter('none', {}, {}, '/x');"
        "print(r.must_detach(int(sys.argv[1])))"
    )
    inside = subprocess.run(
        [sys.executable, "-c", code, str(os.getpid())], capture_output=True, text=True, check=True
    )
    assert inside.stdout.strip() == "True"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        outside = subprocess.run(
            [sys.executable, "-c", code, str(sleeper.pid)], capture_output=True, text=True, check=True
        )
        assert outside.stdout.strip() == "False"
    finally:
        sleeper.kill()
        sleeper.wait()


def test_running_version():
    plugin = {"version": "8.18.3.6", "installed_at": 1000.0}
    assert hostfacts.running_version(plugin, None, "/p.pid")[0] is None
    assert "not running" in hostfacts.running_version(plugin, None, "/p.pid")[1]
    fresh = {"pid": 5, "started": 1001.0}
    assert hostfacts.running_version(plugin, fresh, "/p") == ("8.18.3.6", None)
    stale = {"pid": 5, "started": 999.0}
    version, reason = hostfacts.running_version(plugin, stale, "/p", previous="8.16.0.24")
    assert version == "8.16.0.24"
    assert "still runs 8.16.0.24" in reason and "restart salt-master to load it" in reason


def test_master_process_reads_the_pidfile(tmp_path):
    pidfile = tmp_path / "m.pid"
    assert hostfacts.master_process(str(pidfile)) is None
    pidfile.write_text(str(os.getpid()))
    proc = hostfacts.master_process(str(pidfile))
    assert proc["pid"] == os.getpid() and proc["started"] < time.time()
    pidfile.write_text("999999999")
    assert hostfacts.master_process(str(pidfile)) is None


def test_history_is_append_only_and_skips_torn_lines(tmp_path):
    history = History(tmp_path)
    history.append({"jid": "1" * 20, "from": "a", "to": "b", "result": True})
    with open(history.path, "a", encoding="utf-8") as fh:
        fh.write('{"jid": "torn')
    history.append({"jid": "2" * 20, "from": "b", "to": "c", "result": False})
    records = history.records()
    assert [r["jid"] for r in records] == ["1" * 20, "2" * 20]
    assert history.last()["to"] == "c"
    assert history.last(to="b")["jid"] == "1" * 20
    assert oct(os.stat(history.path).st_mode & 0o777) == "0o600"


def test_pip_command_lines():
    argv = pip_command("/py", "/c/SSEAPE-1-py3-none-any.whl", "/c")
    assert argv[:4] == ["/py", "-m", "pip", "install"]
    assert "--no-index" in argv and argv[argv.index("--find-links") + 1] == "/c"
    assert argv[-1] == "/c/SSEAPE-1-py3-none-any.whl"
    onedir = pip_command("/opt/saltstack/salt/bin/python3", "/c/w.whl", "/c",
                         target="/opt/saltstack/salt/extras-3.10", reinstall=True)
    assert onedir[onedir.index("--target") + 1] == "/opt/saltstack/salt/extras-3.10"
    assert "--force-reinstall" in onedir and "--no-deps" in onedir
    no_pip = pip_command("/venv/bin/python", "/c/w.whl", "/c", has_pip=False)
    assert no_pip[:5] == [sys.executable, "-m", "pip", "--python", "/venv/bin/python"]


def test_a_failed_restart_with_no_master_left_is_a_failure(tmp_path):
    def broken_restart(name):
        raise RuntimeError("systemd says no")

    out = restarter(
        "service", {"service.available": lambda name: True, "service.restart": broken_restart},
        pidfile=str(tmp_path / "gone.pid"),
    ).restart(time.time())
    assert out["failed"] is True
    assert "salt-master is not running" in out["message"] and "systemd says no" in out["message"]


def test_history_last_change_ignores_reinstalls(tmp_path):
    history = History(tmp_path)
    history.append({"jid": "1" * 20, "from": "8.16.0.24", "to": "8.18.3.6", "result": False,
                    "plugin_status": "restarting"})
    history.append({"jid": "2" * 20, "from": "8.18.3.6", "to": "8.18.3.6", "result": True,
                    "plugin_status": "up_to_date"})
    history.append({"jid": "3" * 20, "from": "8.16.0.24", "to": "8.18.3.6", "result": False,
                    "plugin_status": "upgrade_failed"})
    assert history.last_change("8.18.3.6")["jid"] == "1" * 20
    assert history.last_change("9.0") is None


def test_stale_dist_info_is_removed_after_a_target_install(tmp_path):
    from saltext_masterplugin.core.installer import remove_stale_dist_info  # pylint: disable=import-outside-toplevel

    for name in ("SSEAPE-8.16.0.24.dist-info", "SSEAPE-8.18.3.6.dist-info", "requests-2.0.dist-info"):
        (tmp_path / name).mkdir()
    remove_stale_dist_info(str(tmp_path), "SSEAPE", "8.18.3.6")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "SSEAPE-8.18.3.6.dist-info", "requests-2.0.dist-info"
    ]
