import logging
import os

import pytest

from saltext_masterplugin import PACKAGE_ROOT
from saltext_masterplugin.testing.raas_double import RaasDouble
from saltext_masterplugin.testing.sample_wheels import CURRENT
from saltext_masterplugin.testing.sample_wheels import ROLLBACK
from saltext_masterplugin.testing.sample_wheels import build_wheel

# Salt's daemons log after pytest has closed its capture streams at teardown; that noise is
# harmless and only hides real failures.
logging.raiseExceptions = False


@pytest.fixture(scope="session")
def salt_factories_config(tmp_path_factory):
    # Daemons' roots live under pytest's --basetemp (keep that path short: Salt's IPC socket
    # paths must stay under ~100 characters).
    return {
        "root_dir": str(tmp_path_factory.getbasetemp() / "sf"),
        "code_dir": str(PACKAGE_ROOT.parent),
        "inject_sitecustomize": False,
        "start_timeout": 120 if os.environ.get("CI") else 60,
    }


@pytest.fixture(scope="session")
def wheels(tmp_path_factory):
    """Sample plugin wheels: {"current": path, "rollback": path, "broken": path}."""
    folder = tmp_path_factory.mktemp("wheels")
    return {
        "current": build_wheel(str(folder), CURRENT),
        "rollback": build_wheel(str(folder), ROLLBACK),
        "broken": build_wheel(str(folder / "broken"), CURRENT, broken=True),
    }


def offering_both(wheels):
    """A RaaS double (not started) offering 8.18.3.6 (current) and 8.16.0.24 (rollback)."""
    double = RaasDouble(users={"root": "salt"})
    double.add_plugin("current", wheels["current"])
    double.add_plugin("rollback", wheels["rollback"])
    return double


@pytest.fixture
def raas(wheels):
    """A RaaS double on loopback offering 8.18.3.6 (current) and 8.16.0.24 (rollback)."""
    with offering_both(wheels) as double:
        yield double
