"""
Integration tier: a real salt-master and salt-minion (pytest-salt-factories), started once per
session.  The minion stands on a salt-master host: its ``master_plugin:master_config`` names the
real master's configuration, whose ``sseapi_*`` keys point at the RaaS double.
"""
import pytest
from saltfactories.utils import random_string

from saltext_masterplugin.testing.raas_double import RaasDouble
from saltext_masterplugin.testing.supervised_master import SupervisedMaster
from tests.support.helpers import EXAMPLES


@pytest.fixture(scope="session")
def session_raas(wheels):
    double = RaasDouble(users={"root": "salt"})
    double.add_plugin("current", wheels["current"])
    double.add_plugin("rollback", wheels["rollback"])
    with double:
        yield double


@pytest.fixture(scope="session")
def master(salt_factories, session_raas):
    factory = salt_factories.salt_master_daemon(
        random_string("master-"),
        overrides={
            "sseapi_server": session_raas.url,
            "sseapi_username": "root",
            "sseapi_password": "salt",
            "sseapi_ssl_validate_cert": False,
            "file_roots": {"base": [str(EXAMPLES / "sls")]},
        },
    )
    with factory.started():
        yield factory


@pytest.fixture(scope="session")
def minion(master):
    factory = master.salt_minion_daemon(
        random_string("minion-"),
        overrides={"master_plugin": {"master_config": master.config_file}},
    )
    with factory.started():
        yield factory


@pytest.fixture(scope="session")
def salt_cli(master):
    return master.salt_cli()


@pytest.fixture(scope="session")
def salt_call_cli(minion):
    return minion.salt_call_cli()


@pytest.fixture(scope="session")
def host_root(tmp_path_factory):
    """Where master host 1's salt-master lives (rebuilt for every test that uses it)."""
    return tmp_path_factory.getbasetemp() / "host1"


@pytest.fixture(scope="session")
def host_minion(master, host_root):
    """The salt-minion of master host 1, whose salt-master is the supervised one."""
    factory = master.salt_minion_daemon(
        "host1-minion",
        overrides={
            "master_plugin": {"master_config": str(host_root / "etc" / "salt" / "master")},
        },
    )
    with factory.started():
        yield factory


@pytest.fixture
def supervised(host_root, session_raas, wheels, host_minion):
    """
    Master host 1: a real salt-master under a real supervisord, running plugin 8.16.0.24,
    with a fresh history and RaaS record.
    """
    session_raas.add_plugin("current", wheels["current"])
    session_raas.add_plugin("rollback", wheels["rollback"])
    with session_raas.lock:
        session_raas.calls.clear()
        session_raas.plugin_status.clear()
    host = SupervisedMaster(host_root, session_raas.url, wheels["rollback"]).build()
    try:
        host.start()
        yield host
    finally:
        host.remove()
