"""
Functional tier: Salt's real loader (pytest-salt-factories' ``Loaders``) runs ``master_plugin.*``
against the RaaS double on loopback, on a sandboxed salt-master configuration.
"""
import os
import subprocess
import sys

import pytest
from saltfactories.utils.functional import Loaders

from tests.support.helpers import EXAMPLES
from tests.support.helpers import plugin_cache_of
from tests.support.helpers import write_master_config


@pytest.fixture(scope="package")
def minion_opts(salt_factories):
    factory = salt_factories.salt_minion_daemon(
        "functional-minion",
        overrides={"file_client": "local", "file_roots": {"base": [str(EXAMPLES / "sls")]}},
    )
    return factory.config.copy()


@pytest.fixture
def master_host(tmp_path, raas):
    """A sandboxed salt-master configuration pointing at the RaaS double."""
    config, cachedir = write_master_config(tmp_path / "host", raas.url)
    return {"config": config, "cachedir": cachedir, "cache_dir": plugin_cache_of(cachedir)}


@pytest.fixture(scope="module")
def loaders(minion_opts):
    # One loader per test module (building one costs about 1.5 s); each test sets the
    # ``master_plugin:`` options in place, which the loaded modules share through __opts__.
    loaders = Loaders(
        dict(minion_opts, master_plugin={}), loaded_base_name=f"{__name__}.loaded"
    )
    try:
        yield loaders
    finally:
        loaders.reset_state()


@pytest.fixture
def modules_with(loaders, master_host):
    """
    ``modules_with(**options)``: Salt's execution modules, for a minion whose
    ``master_plugin:`` options are ``options`` (``master_config`` defaults to the sandbox).
    """

    def configure(**options):
        options.setdefault("master_config", master_host["config"])
        loaders.opts["master_plugin"].clear()
        loaders.opts["master_plugin"].update(options)
        return loaders.modules

    try:
        yield configure
    finally:
        loaders.opts["master_plugin"].clear()
        loaders.context.clear()


@pytest.fixture
def modules(modules_with):
    return modules_with()


def make_plugin_env(root, wheel):
    """A throwaway virtualenv standing for the salt-master's Python, with ``wheel`` installed."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = os.path.join(str(root), "bin", "python")
    if wheel:
        subprocess.run(
            [sys.executable, "-m", "pip", "--python", python, "install", "--quiet",
             "--no-index", "--no-deps", wheel],
            check=True,
        )
    return python


@pytest.fixture(scope="session")
def plugin_envs(tmp_path_factory, wheels):
    """Interpreters with nothing, the rollback (8.16.0.24) and the current (8.18.3.6) plugin."""
    root = tmp_path_factory.mktemp("plugin-envs")
    return {
        "none": make_plugin_env(root / "none", None),
        "rollback": make_plugin_env(root / "rollback", wheels["rollback"]),
        "current": make_plugin_env(root / "current", wheels["current"]),
    }


@pytest.fixture(params=(False, True), ids=("apply", "test"))
def testmode(request):
    return request.param


@pytest.fixture
def master_python(tmp_path, wheels):
    """A fresh environment with plugin 8.16.0.24 installed (no pip of its own)."""
    return make_plugin_env(tmp_path / "master-python", wheels["rollback"])
