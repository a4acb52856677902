"""
Install, rollback, downgrade refusal, a failed pip and the prerequisite statuses, through Salt's
loader, into a throwaway virtualenv standing for the salt-master's Python.
"""
import json
import os

import pytest
from salt.exceptions import CommandExecutionError
from salt.exceptions import SaltInvocationError

from tests.functional.conftest import make_plugin_env
from tests.support.helpers import CURRENT_WHEEL
from tests.support.helpers import ROLLBACK_WHEEL
from tests.support.helpers import assert_cache_verified
from tests.support.helpers import imported_version


def installed(python):
    return imported_version(python)


def history(master_host):
    path = os.path.join(master_host["cache_dir"], "history.jsonl")
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def statuses_sent(raas):
    return [c["args"][1] for c in raas.calls_of("set_plugin_status")]


def test_install_then_rollback(modules_with, master_python, raas, master_host):
    modules = modules_with(python=master_python, restart="none")
    ret = modules.master_plugin.install(__pub_jid="20261203120000123456")
    assert ret["result"] is True, ret
    assert (ret["old"], ret["new"]) == ("8.16.0.24", "8.18.3.6")
    assert ret["plugin_status"] == "restarting"
    assert ret["jid"] == "20261203120000123456"
    assert installed(master_python) == "8.18.3.6"
    assert_cache_verified(master_host["cache_dir"], expect=[CURRENT_WHEEL, ROLLBACK_WHEEL])
    assert statuses_sent(raas) == ["upgrading", "restarting"]
    assert raas.calls_of("set_plugin_status")[-1]["args"][2] == "20261203120000123456"
    record = history(master_host)[-1]
    assert (record["from"], record["to"], record["result"], record["jid"]) == (
        "8.16.0.24", "8.18.3.6", True, "20261203120000123456"
    )

    status = modules.master_plugin.status()
    assert status["installed_version"] == "8.18.3.6"
    assert status["last_update_jid"] == "20261203120000123456"
    assert status["last_update"]["to"] == "8.18.3.6"

    back = modules.master_plugin.rollback(restart="none")
    assert (back["old"], back["new"]) == ("8.18.3.6", "8.16.0.24")
    assert installed(master_python) == "8.16.0.24"
    assert back["plugin_status"] == "restarting"
    assert back["result"] is False  # installed, but nobody restarted salt-master
    assert "restart salt-master by hand" in back["restart"]["message"]
    assert len(back["jid"]) == 20


def test_downgrade_is_refused_unless_allowed(modules_with, tmp_path, wheels, raas):
    python = make_plugin_env(tmp_path / "current-python", wheels["current"])
    modules = modules_with(python=python)
    with pytest.raises(CommandExecutionError, match="refusing to downgrade the plugin from 8.18.3.6 to 8.16.0.24"):
        modules.master_plugin.install(version="8.16.0.24")
    assert installed(python) == "8.18.3.6"
    assert statuses_sent(raas) == []
    ret = modules.master_plugin.install(version="8.16.0.24", allow_downgrade=True)
    assert ret["result"] is True
    assert installed(python) == "8.16.0.24"


def test_already_installed_is_a_no_op(modules_with, tmp_path, wheels, raas, master_host):
    python = make_plugin_env(tmp_path / "current-python", wheels["current"])
    modules = modules_with(python=python)
    ret = modules.master_plugin.install()
    assert ret["result"] is True
    assert ret["old"] == ret["new"] == "8.18.3.6"
    assert ret["plugin_status"] == "up_to_date"
    assert statuses_sent(raas) == []
    assert not os.path.exists(os.path.join(master_host["cache_dir"], "history.jsonl"))


def test_failed_pip_keeps_the_old_plugin(modules_with, master_python, raas, wheels, master_host):
    raas.add_plugin("current", wheels["broken"])  # same name, verifies, but pip refuses it
    modules = modules_with(python=master_python)
    ret = modules.master_plugin.update()
    assert ret["result"] is False
    assert ret["plugin_status"] == "upgrade_failed"
    assert installed(master_python) == "8.16.0.24"
    assert any("Installing SSEAPE-8.18.3.6-py3-none-any.whl failed" in m for m in ret["messages"])
    assert any("still installed and importable" in m for m in ret["messages"])
    assert statuses_sent(raas) == ["upgrading", "upgrade_failed"]
    sent_log = raas.calls_of("set_plugin_status")[-1]["args"][3]
    assert any("unsupported" in m.lower() or "Wheel-Version" in m for m in sent_log), sent_log
    status = modules.master_plugin.status()
    assert status["plugin_status"] == "upgrade_failed"
    assert status["last_update_jid"] == ret["jid"]

    # A later success clears upgrade_failed.
    raas.add_plugin("current", wheels["current"])
    ok = modules.master_plugin.install()
    assert ok["result"] is True
    assert modules.master_plugin.status()["plugin_status"] != "upgrade_failed"


def test_download_for_a_manual_install(modules_with, master_python, raas, tmp_path, wheels):
    modules = modules_with(python=master_python)
    dest = tmp_path / "out"
    dest.mkdir()
    ret = modules.master_plugin.download(dest=str(dest))
    assert ret["path"] == str(dest / CURRENT_WHEEL)
    assert (dest / CURRENT_WHEEL).read_bytes() == open(wheels["current"], "rb").read()
    ret = modules.master_plugin.download(version="8.16.0.24", dest=str(dest / "plugin.whl"))
    assert (dest / "plugin.whl").read_bytes() == open(wheels["rollback"], "rb").read()
    assert installed(master_python) == "8.16.0.24"  # nothing installed


@pytest.mark.parametrize(
    "dest, words",
    [(None, "dest must be an absolute path"), ("relative/x", "absolute path"),
     ("/nonexistent/dir/x.whl", "does not exist")],
)
def test_download_bad_dest(modules, raas, dest, words):
    with pytest.raises(SaltInvocationError, match=words):
        modules.master_plugin.download(dest=dest)
    assert raas.requests == []


def test_bad_arguments_before_any_io(modules, raas):
    with pytest.raises(SaltInvocationError, match="allow_downgrade must be True or False"):
        modules.master_plugin.update(allow_downgrade="yes")
    with pytest.raises(SaltInvocationError, match="restart must be one of service, supervisord"):
        modules.master_plugin.update(restart="reboot")
    with pytest.raises(SaltInvocationError, match="unexpected argument"):
        modules.master_plugin.update(versoin="8.18.3.6")
    with pytest.raises(SaltInvocationError, match="Quote the version"):
        modules.master_plugin.install(version=8.2)
    assert raas.requests == []


def test_a_second_concurrent_update_fails_fast(modules_with, master_python, master_host, raas):
    from saltext_masterplugin.core.locking import FileLock  # pylint: disable=import-outside-toplevel

    os.makedirs(master_host["cache_dir"], exist_ok=True)
    modules = modules_with(python=master_python)
    with FileLock(os.path.join(master_host["cache_dir"], "update.lock"), purpose="master_plugin.update jid 1"):
        with pytest.raises(CommandExecutionError, match=r"locked by pid \d+ \(master_plugin.update jid 1\)"):
            modules.master_plugin.update()
    assert installed(master_python) == "8.16.0.24"


@pytest.mark.parametrize(
    "options, expected, words",
    [
        ({"min_salt_version": "9999.1", "python": "SALT"}, "cannot_update_salt_old", "Salt >= 9999.1"),
        ({"min_plugin_version": "9.0"}, "cannot_update_plugin_old", "upgraded by hand: salt-pip install"),
    ],
)
def test_prerequisites(modules_with, master_python, raas, options, expected, words):
    import sys  # pylint: disable=import-outside-toplevel

    if options.get("python") == "SALT":
        options["python"] = sys.executable
    modules = modules_with(**dict({"python": master_python}, **options))
    status = modules.master_plugin.status()
    assert status["plugin_status"] == expected
    assert words in status["reasons"][0]
    ret = modules.master_plugin.update()
    assert ret["result"] is False
    assert ret["plugin_status"] == expected
    assert statuses_sent(raas) == [expected]


def test_master_not_running_as_root(modules_with, master_python, raas, tmp_path, master_host):
    from tests.support.helpers import write_master_config  # pylint: disable=import-outside-toplevel

    config, _ = write_master_config(tmp_path / "host", raas.url, master={"user": "salt"})
    modules = modules_with(python=master_python, master_config=config)
    status = modules.master_plugin.status()
    assert status["plugin_status"] == "cannot_update_reason_unknown"
    assert "salt-master runs as 'salt', not root" in status["reasons"][0]


def test_update_when_raas_is_down(modules_with, master_python, raas):
    modules = modules_with(python=master_python)
    raas.stop()
    ret = modules.master_plugin.update()
    assert ret["result"] is False
    assert ret["plugin_status"] == "cannot_update_disconnected"
    assert installed(master_python) == "8.16.0.24"


def test_a_master_that_does_not_come_back_is_rolled_back(modules_with, master_python, raas):
    modules = modules_with(
        python=master_python,
        restart="command",
        restart_command=["true"],  # "restarts" nothing: no new salt-master ever appears
        restart_timeout=1,
    )
    ret = modules.master_plugin.update()
    assert ret["result"] is False
    assert ret["plugin_status"] == "upgrade_failed"
    assert ret["restart"]["failed"] is True
    assert installed(master_python) == "8.16.0.24"
    assert any("Rolling back to 8.16.0.24" in m for m in ret["messages"])
    assert any("Reinstalled plugin 8.16.0.24 from the cache" in m for m in ret["messages"])
    assert statuses_sent(raas) == ["upgrading", "restarting", "upgrade_failed"]
