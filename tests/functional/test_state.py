"""The ``master_plugin.updated`` state, with and without ``test=True``, and the example SLS."""
import pytest
import yaml

from saltext_masterplugin.core.settings import PLUGIN_OPTION_DEFAULTS
from saltext_masterplugin.core.settings import plugin_settings
from tests.support.helpers import EXAMPLES
from tests.support.helpers import imported_version

pytestmark = [pytest.mark.requires_salt_states("master_plugin.updated")]


@pytest.fixture
def states(loaders, modules_with, master_python):
    modules_with(python=master_python)
    return loaders.states


def test_updated_installs(states, master_python, testmode, raas):
    ret = states.master_plugin.updated(name="SSEAPE", test=testmode)
    if testmode:
        assert ret.result is None
        assert ret.changes == {"old": "8.16.0.24", "new": "8.18.3.6"}
        assert imported_version(master_python) == "8.16.0.24"
        assert raas.calls_of("set_plugin_status") == []
    else:
        assert ret.result is True, ret.comment
        assert ret.changes == {"old": "8.16.0.24", "new": "8.18.3.6"}
        assert imported_version(master_python) == "8.18.3.6"
        assert [c["args"][1] for c in raas.calls_of("set_plugin_status")] == [
            "upgrading", "restarting"
        ]


def test_updated_pinned_version_already_installed(states, testmode):
    ret = states.master_plugin.updated(name="SSEAPE", version="8.16.0.24", test=testmode)
    assert ret.result is True
    assert ret.changes == {}
    assert "Plugin 8.16.0.24 is installed" in ret.comment


def test_updated_refuses_downgrade(states, modules_with, tmp_path, wheels, testmode):
    from tests.functional.conftest import make_plugin_env  # pylint: disable=import-outside-toplevel

    python = make_plugin_env(tmp_path / "newer", wheels["current"])
    modules_with(python=python)
    ret = states.master_plugin.updated(name="SSEAPE", version="8.16.0.24", test=testmode)
    assert ret.result is False
    assert "refusing to downgrade the plugin from 8.18.3.6 to 8.16.0.24" in ret.comment
    assert imported_version(python) == "8.18.3.6"


def test_updated_float_version(states, testmode):
    ret = states.master_plugin.updated(name="SSEAPE", version=8.2, test=testmode)
    assert ret.result is False
    assert "Quote the version" in ret.comment


def test_updated_raas_down(states, raas, testmode, master_python):
    raas.stop()
    ret = states.master_plugin.updated(name="SSEAPE", test=testmode)
    assert ret.result is False
    assert "current plugin version is unknown" in ret.comment
    assert imported_version(master_python) == "8.16.0.24"


def test_example_sls_with_service_running(modules_with, master_python, testmode, raas):
    """The vendor-style SLS: the plugin is installed; without an init system the restart fails."""
    modules = modules_with(python=master_python)
    ret = modules.state.apply("master_plugin.update", test=testmode)
    plugin = ret.raw["master_plugin_|-SSEAPE_|-SSEAPE_|-updated"]
    service = ret.raw["service_|-salt-master_|-salt-master_|-running"]
    assert plugin["changes"] == {"old": "8.16.0.24", "new": "8.18.3.6"}
    if testmode:
        assert plugin["result"] is None
        assert imported_version(master_python) == "8.16.0.24"
    else:
        assert plugin["result"] is True
        assert imported_version(master_python) == "8.18.3.6"
        # This machine has no init system: the watch-triggered restart fails, and Salt says so.
        assert service["result"] is False
        assert service["comment"] == "Failed to start the service"
        assert modules.master_plugin.status()["installed_version"] == "8.18.3.6"


def test_example_master_options_are_the_defaults():
    options = yaml.safe_load((EXAMPLES / "master.d" / "master_plugin.conf").read_text())
    shown = options["master_plugin"]
    assert set(shown) <= set(PLUGIN_OPTION_DEFAULTS)
    for key, value in shown.items():
        if key == "cache_dir":
            assert value == "/var/cache/salt/master/plugin_cache"
        else:
            assert value == PLUGIN_OPTION_DEFAULTS[key], key
    assert plugin_settings({"cachedir": "/var/cache/salt/master", **options}).cache_dir == (
        plugin_settings({"cachedir": "/var/cache/salt/master"}).cache_dir
    )
