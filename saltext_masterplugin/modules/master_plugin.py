"""
Keep the SaltStack Config master plugin (``SSEAPE``) of this host's salt-master at RaaS's version.

This module runs in the salt-minion of a salt-master host and works on that salt-master: it
reads the master's own configuration (``master_plugin:master_config`` in the minion's
configuration, default ``/etc/salt/master`` with ``master.d/``), so the RaaS connection comes
from the plugin's ``sseapi_*`` keys and the plugin cache is ``<master cachedir>/plugin_cache``.

:depends: requests, packaging
"""
import logging

from salt.exceptions import SaltInvocationError

from saltext_masterplugin.core.api import DEFAULT_MASTER_CONFIG
from saltext_masterplugin.core.api import MasterHost
from saltext_masterplugin.core.api import load_master_opts
from saltext_masterplugin.core.arguments import version_arg
from saltext_masterplugin.core.errors import NotAMasterError

log = logging.getLogger(__name__)

__virtualname__ = "master_plugin"


def __virtual__():
    return __virtualname__


def _options():
    options = __opts__.get("master_plugin") or {}
    if not isinstance(options, dict):
        raise SaltInvocationError(f"master_plugin must be a mapping in the minion configuration, not {options!r}")
    return options


def _host():
    options = _options()
    path = options.get("master_config") or DEFAULT_MASTER_CONFIG
    overrides = {k: v for k, v in options.items() if k != "master_config"}
    return MasterHost(load_master_opts(path), overrides)


def versions():
    """
    List the plugin versions RaaS offers (``current``, ``rollback``, ...), each with
    ``cached``: whether a verified copy is in the plugin cache.

    CLI Example:

    .. code-block:: bash

        salt '*' master_plugin.versions
    """
    return _host().versions()


def sync(version=None):
    """
    Fetch every plugin version RaaS offers that the plugin cache lacks, verified by sha256 and
    size (what the vendor's master plugin does when a master connects).  A second run fetches
    nothing.  Returns ``{"fetched": [...], "cached": [...], "repaired": [...], "cache_dir"}``.

    CLI Example:

    .. code-block:: bash

        salt '*' master_plugin.sync
        salt '*' master_plugin.sync version=8.18.3.6

    version
        Fetch only this version (quoted, e.g. ``'"8.20"'``). Default: every offered version.
    """
    version = version_arg(version)
    return _host().sync(version)


def status():
    """
    Report this master's plugin status in RaaS's vocabulary (``up_to_date``, ``needs_update``,
    ``cannot_update_disconnected``, ...) with ``reasons``, the installed, latest and rollback
    versions, the cached versions and the Salt version.  On a host without a salt-master it
    returns ``is_master: False`` and ``plugin_status: None``.

    CLI Example:

    .. code-block:: bash

        salt '*' master_plugin.status
    """
    try:
        host = _host()
    except NotAMasterError as err:
        return {"is_master": False, "plugin_status": None, "reasons": [str(err)]}
    return dict(host.status(), is_master=True)
