"""
State for the SaltStack Config master plugin (``SSEAPE``) of this host's salt-master.

The state installs; it does not restart.  A ``service.running`` (or ``supervisord.running``)
state that watches it restarts salt-master, exactly as the vendor's update process relies on:

.. code-block:: yaml

    SSEAPE:
      master_plugin.updated:
        - version: latest          # or a pinned, quoted version: "8.18.3.6"

    salt-master:
      service.running:
        - watch:
          - master_plugin: SSEAPE
"""
import logging

from packaging.version import Version
from salt.exceptions import CommandExecutionError
from salt.exceptions import SaltInvocationError

from saltext_masterplugin.core.arguments import bool_arg
from saltext_masterplugin.core.arguments import version_arg

log = logging.getLogger(__name__)

__virtualname__ = "master_plugin"


def __virtual__():
    if "master_plugin.install" in __salt__:
        return __virtualname__
    return (False, "the master_plugin execution module is not available")


def updated(name, version="latest", allow_downgrade=False):
    """
    Make sure the salt-master's plugin is at ``version`` (installed, from the verified cache).

    While salt-master still runs an older plugin than the installed one, the state reports a
    ``running`` change, so that a watching ``service.running`` restarts it.

    .. code-block:: yaml

        SSEAPE:
          master_plugin.updated:
            - version: "8.18.3.6"

    name
        A label (conventionally ``SSEAPE``).
    version
        ``latest`` (RaaS's current) or a quoted version. Default: ``latest``.
    allow_downgrade
        Allow installing a version older than the installed one. Default: ``False``.
    """
    ret = {"name": name, "result": True, "changes": {}, "comment": ""}
    try:
        wanted = version_arg(version)
        bool_arg(allow_downgrade, "allow_downgrade")
        status = __salt__["master_plugin.status"]()
        if not status.get("is_master"):
            raise CommandExecutionError("; ".join(status.get("reasons") or ["not a salt-master"]))
        target = wanted or status.get("latest_version")
        if target is None:
            raise CommandExecutionError(
                "RaaS's current plugin version is unknown: " + "; ".join(status.get("reasons"))
            )
        installed = status.get("installed_version")
        running = status.get("running_version")
        if installed == target:
            if running == target or status.get("master_pid") is None:
                ret["comment"] = f"Plugin {target} is installed"
                return ret
            ret["changes"] = {"running": {"old": running, "new": target}}
            if __opts__["test"]:
                ret["result"] = None
                ret["comment"] = f"Plugin {target} is installed; salt-master would be restarted"
            else:
                ret["comment"] = (
                    f"Plugin {target} is installed but salt-master still runs {running}; "
                    "a watching service.running restarts it"
                )
            return ret
        if installed and Version(target) < Version(installed) and not allow_downgrade:
            raise CommandExecutionError(
                f"refusing to downgrade the plugin from {installed} to {target}; "
                "set allow_downgrade: True"
            )
        if __opts__["test"]:
            ret["result"] = None
            ret["changes"] = {"old": installed, "new": target}
            ret["comment"] = f"Plugin {target} would be installed"
            return ret
        result = __salt__["master_plugin.install"](
            version=target, allow_downgrade=allow_downgrade
        )
        if result.get("old") != result.get("new") and result.get("result"):
            ret["changes"] = {"old": result.get("old"), "new": result.get("new")}
        ret["result"] = bool(result.get("result"))
        ret["comment"] = "; ".join(result.get("messages") or [])
    except (CommandExecutionError, SaltInvocationError) as err:
        ret["result"] = False
        ret["comment"] = str(err)
    return ret
