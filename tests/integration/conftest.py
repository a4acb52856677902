"""
Integration tier: a real salt-master and salt-minion (pytest-salt-factories), started once per
session.  The minion stands on a salt-master host: its ``master_plugin:master_config`` names the
real master's configuration, whose ``sseapi_*`` keys point at the RaaS double.
"""
import pytest
from saltfactories.utils import random_string

from saltext_masterplugin.testing.supervised_master import SupervisedMaster
from tests.conftest import offering_both
from tests.support.helpers import EXAMPLES


@pytest.fixture(scope="session")
def session_raas(wheels):
    with offering_both(wheels) as double:
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


HOSTS = (1, 2, 3)


@pytest.fixture(scope="session")
def host_roots(tmp_path_factory):
    """Where each master host's salt-master lives (rebuilt by every test that uses it)."""
    return {n: tmp_path_factory.getbasetemp() / f"host{n}" for n in HOSTS}


@pytest.fixture(scope="session")
def host_minions(master, host_roots):
    """
    The salt-minions of master hosts 1..3 (``host<n>-minion``), each configured to work on the
    salt-master under ``host_roots[n]``, and ``web1-minion``, a minion on a host with no
    salt-master.
    """
    factories = {}
    for n in HOSTS:
        factories[n] = master.salt_minion_daemon(
            f"host{n}-minion",
            overrides={
                "master_plugin": {
                    "master_config": str(host_roots[n] / "etc" / "salt" / "master")
                },
            },
        )
    factories["web"] = master.salt_minion_daemon(
        "web1-minion",
        overrides={"master_plugin": {"master_config": str(host_roots[1] / "no-such-master")}},
    )
    started = []
    try:
        for factory in factories.values():
            factory.start()
            started.append(factory)
        yield factories
    finally:
        for factory in started:
            factory.terminate()


@pytest.fixture(scope="session")
def host_minion(host_minions):
    return host_minions[1]


def _reset_raas(raas, wheels):
    raas.add_plugin("current", wheels["current"])
    raas.add_plugin("rollback", wheels["rollback"])
    with raas.lock:
        raas.calls.clear()
        raas.plugin_status.clear()


@pytest.fixture
def supervised(host_roots, session_raas, wheels, host_minion):
    """
    Master host 1: a real salt-master under a real supervisord, running plugin 8.16.0.24,
    with a fresh history and RaaS record.
    """
    _reset_raas(session_raas, wheels)
    host = SupervisedMaster(host_roots[1], session_raas.url, wheels["rollback"]).build()
    try:
        host.start()
        yield host
    finally:
        host.remove()


@pytest.fixture
def make_fleet(host_roots, session_raas, wheels, host_minions):
    """
    ``make_fleet(**per_host)``: master hosts 1..3, each a real salt-master under supervisord
    running plugin 8.16.0.24 (master ids ``master1``..``master3``); ``per_host[n]`` gives host n
    other ``master_plugin:`` options (``restart``, ``restart_command``, ...).
    """
    hosts = []

    def make(**per_host):
        _reset_raas(session_raas, wheels)
        for n in HOSTS:
            options = dict(per_host.get(f"host{n}", {}))
            restart = options.pop("restart", "supervisord")
            hosts.append(
                SupervisedMaster(
                    host_roots[n], session_raas.url, wheels["rollback"], master_id=f"master{n}",
                    restart=restart, options=options,
                ).build()
            )
        for host in hosts:
            host.start(wait=False)
        for host in hosts:
            host.wait_running("8.16.0.24", timeout=90)
        return {f"host{n}-minion": host for n, host in zip(HOSTS, hosts)}

    try:
        yield make
    finally:
        for host in hosts:
            host.remove()
