"""
Keep the SaltStack Config master plugin (``SSEAPE``) of this host's salt-master at RaaS's version.

This module runs in the salt-minion of a salt-master host and works on that salt-master: it
reads the master's own configuration (``master_plugin:master_config`` in the minion's
configuration, default ``/etc/salt/master`` with ``master.d/``), so the RaaS connection comes
from the plugin's ``sseapi_*`` keys and the plugin cache is ``<master cachedir>/plugin_cache``.

:depends: requests, packaging
"""
import logging

import salt.utils.args
import salt.utils.jid
from salt.exceptions import SaltInvocationError

from saltext_masterplugin.core.api import DEFAULT_MASTER_CONFIG
from saltext_masterplugin.core.api import MasterHost
from saltext_masterplugin.core.api import load_master_opts
from saltext_masterplugin.core.arguments import bool_arg
from saltext_masterplugin.core.arguments import dest_arg
from saltext_masterplugin.core.arguments import version_arg
from saltext_masterplugin.core.errors import NotAMasterError
from saltext_masterplugin.core.restart import from_salt as restart_from_salt
from saltext_masterplugin.core.settings import RESTART_METHODS
from saltext_masterplugin.core.update import Update
from saltext_masterplugin.core.update import copy_out

log = logging.getLogger(__name__)

__virtualname__ = "master_plugin"


def __virtual__():
    return __virtualname__


def _options():
    options = __opts__.get("master_plugin") or {}
    if not isinstance(options, dict):
        raise SaltInvocationError(
            f"master_plugin must be a mapping in the minion configuration, not {options!r}"
        )
    return options


def _restart_arg(value):
    if value is not None and value not in RESTART_METHODS:
        raise SaltInvocationError(
            f"restart must be one of {', '.join(RESTART_METHODS)}, not {value!r}"
        )
    return value


def _job_jid(kwargs):
    """The JID of the job running us (20 characters), or a new one."""
    clean = salt.utils.args.clean_kwargs(**kwargs)
    if clean:
        raise SaltInvocationError(
            "unexpected argument(s): " + ", ".join(sorted(clean))
        )
    jid = str(kwargs.get("__pub_jid") or "")
    if len(jid) == 20 and jid.isdigit():
        return jid
    return salt.utils.jid.gen_jid(__opts__)


def _restarter(host, restart):
    return restart_from_salt(host.settings, __salt__, host.pidfile, restart)


def _retcode(ret):
    if not ret.get("result"):
        __context__["retcode"] = 1
    return ret


def _host():
    options = _options()
    path = options.get("master_config") or DEFAULT_MASTER_CONFIG
    overrides = {k: v for k, v in options.items() if k != "master_config"}
    return MasterHost(load_master_opts(path), overrides)


def settings():
    """
    Show the effective configuration this module works with: the salt-master's configuration
    file, the RaaS server and user (never the password), and every ``master_plugin:`` option
    with its resolved value.

    CLI Example:

    .. code-block:: bash

        salt '*' master_plugin.settings
    """
    options = _options()
    path = options.get("master_config") or DEFAULT_MASTER_CONFIG
    host = _host()
    return host.describe(path)


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


def update(version=None, allow_downgrade=False, restart=None, **kwargs):
    """
    Update this master's plugin: check the prerequisites, fetch the wanted version into the
    plugin cache (verified), install it into the salt-master's Python, restart salt-master and
    report the outcome to RaaS (``upgrading`` -> ``restarting`` -> ``up_to_date``, or
    ``upgrade_failed``) and to the update history, under this job's JID.

    Returns ``{result, old, new, jid, plugin_status, restart, messages}``.  When salt-master
    can't be restarted here (no init system, not under the configured supervisor), the plugin
    is installed, ``plugin_status`` is ``restarting``, ``result`` is False and ``restart.how``
    says what to run by hand.  A failed install leaves the previous version installed.

    CLI Example:

    .. code-block:: bash

        salt-call master_plugin.update
        salt 'master1*' master_plugin.update version='"8.18.3.6"'
        salt 'master1*' master_plugin.update restart=supervisord

    version
        The version to install (quoted). Default: RaaS's ``current``.
    allow_downgrade
        Allow installing a version older than the installed one. Default: ``False``.
    restart
        Override ``master_plugin:restart`` for this call: ``service``, ``supervisord``,
        ``command`` or ``none``.
    """
    version = version_arg(version)
    allow_downgrade = bool_arg(allow_downgrade, "allow_downgrade")
    restart = _restart_arg(restart)
    jid = _job_jid(kwargs)
    host = _host()
    return _retcode(Update(host, jid, _restarter(host, restart)).run(version, allow_downgrade))


def install(version=None, allow_downgrade=False, **kwargs):
    """
    Install a plugin version from the verified cache (fetching it first if needed) into the
    salt-master's Python, without restarting salt-master: ``plugin_status`` is then
    ``restarting`` until the master is restarted (for instance by a ``service.running`` state
    that watches ``master_plugin.updated``).

    CLI Example:

    .. code-block:: bash

        salt-call master_plugin.install
        salt-call master_plugin.install version='"8.16.0.24"' allow_downgrade=True

    version
        The version to install (quoted). Default: RaaS's ``current``.
    allow_downgrade
        Allow installing a version older than the installed one. Default: ``False``.
    """
    version = version_arg(version)
    allow_downgrade = bool_arg(allow_downgrade, "allow_downgrade")
    jid = _job_jid(kwargs)
    return _retcode(Update(_host(), jid).run(version, allow_downgrade, action="install"))


def rollback(restart=None, **kwargs):
    """
    Reinstall the previous plugin version (RaaS's ``rollback``, or the version the history
    says was installed before the current one) from the cache, and restart salt-master.

    CLI Example:

    .. code-block:: bash

        salt-call master_plugin.rollback

    restart
        Override ``master_plugin:restart`` for this call.
    """
    restart = _restart_arg(restart)
    jid = _job_jid(kwargs)
    host = _host()
    return _retcode(
        Update(host, jid, _restarter(host, restart)).run(None, True, action="rollback")
    )


def download(version=None, dest=None):
    """
    Copy a verified plugin wheel out of the cache (fetching it first if needed) for a manual
    install, the vendor's "download the plugin" button.  Returns ``{path, version, sha256,
    size}``.

    CLI Example:

    .. code-block:: bash

        salt-call master_plugin.download dest=/tmp
        salt-call master_plugin.download version='"8.16.0.24"' dest=/root/SSEAPE.whl

    version
        The version (quoted). Default: RaaS's ``current``.
    dest
        A folder, or the path of the file to write (its folder must exist). Required.
    """
    version = version_arg(version)
    dest_arg(dest)
    return copy_out(_host(), version, dest)
