"""
Integration tier: a real salt-master and salt-minion (pytest-salt-factories), started once per
session.  The minion stands on a salt-master host: its ``master_plugin:master_config`` names the
real master's configuration, whose ``sseapi_*`` keys point at the RaaS double.
"""
import pytest
from saltfactories.utils import random_string

from saltext_masterplugin.testing.raas_double import RaasDouble


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
