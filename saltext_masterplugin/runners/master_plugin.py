"""
Bring a fleet of salt-masters to RaaS's master plugin version, from a manager master.

Each salt-master host runs a salt-minion connected to this (manager) master; the runner reaches
the masters through those minions with Salt's LocalClient -- one publish per batch -- so Salt's
publish/return, batches and syndics do the distributing.  With no target, the runner works on
the master it runs on, as RaaS's own ``master.update_plugin`` does.

.. code-block:: bash

    salt-run master_plugin.status tgt='master*'
    salt-run master_plugin.update tgt='master*' batch=25% canary=1 max_failures=0
"""
import getpass
import logging
import os

import salt.client
import salt.loader
import salt.utils.event
import salt.utils.jid
import salt.utils.minions
from salt.exceptions import SaltInvocationError

from saltext_masterplugin.core import fleet
from saltext_masterplugin.core import rollout
from saltext_masterplugin.core.api import MasterHost
from saltext_masterplugin.core.arguments import bool_arg
from saltext_masterplugin.core.arguments import dest_arg
from saltext_masterplugin.core.arguments import positive_arg
from saltext_masterplugin.core.arguments import version_arg
from saltext_masterplugin.core.locking import FileLock
from saltext_masterplugin.core.restart import from_salt as restart_from_salt
from saltext_masterplugin.core.update import Update
from saltext_masterplugin.core.update import copy_out

log = logging.getLogger(__name__)

__virtualname__ = "master_plugin"

FLEET_LOCK = "master_plugin_fleet.lock"
def __virtual__():
    return __virtualname__


class _SaltIO:
    """What the core's fleet logic needs from Salt, done with Salt's own clients."""

    def __init__(self, opts, jid_event):
        self.opts = opts
        self.client = salt.client.get_local_client(mopts=opts)
        self.jid_event = jid_event
        self._bus = None

    def close(self):
        if self._bus is not None:
            self._bus.destroy()
            self._bus = None
        self.client.destroy()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def expected(self, tgt, tgt_type):
        found = salt.utils.minions.CkMinions(self.opts).check_minions(tgt, tgt_type)
        return found.get("minions", [])

    def publish(self, tgt, tgt_type, fun, kwarg, timeout):
        return self.client.cmd(
            tgt, fun, kwarg=kwarg, tgt_type=tgt_type, timeout=timeout, full_return=True
        ) or {}

    def progress(self, message, tag, data):
        log.info("%s", message)
        if self.jid_event is not None:
            # salt-run prints progress events through the outputter they name: one line each.
            self.jid_event.fire_event({"message": message, "outputter": "master_plugin"}, "progress")
        try:
            if self._bus is None:
                self._bus = salt.utils.event.get_master_event(
                    self.opts, self.opts["sock_dir"], listen=False
                )
            self._bus.fire_event(dict(data, message=message), tag)
        except Exception as err:  # pylint: disable=broad-except
            log.debug("Could not fire %s on the master's bus: %s", tag, err)


def _jid():
    jid = globals().get("__jid__")
    return jid if jid else salt.utils.jid.gen_jid(__opts__)


def status(tgt=None, tgt_type="glob", timeout=60):
    """
    Show the plugin status of every targeted master: one publish of ``master_plugin.status``,
    then per master its status, installed and running versions, Salt version, last update JID
    and reasons; counts by status; the targeted minions that are not on a master host; the
    minions that did not answer (``cannot_update_disconnected``).

    CLI Example:

    .. code-block:: bash

        salt-run master_plugin.status
        salt-run master_plugin.status tgt='master*'
        salt-run master_plugin.status tgt='G@role:master' tgt_type=compound --out json

    tgt
        The minions on the master hosts. Default: the master this runner runs on.
    tgt_type
        Salt's target type. Default: ``glob``.
    timeout
        Seconds to wait for the minions' answers. Default: ``60``.
    """
    positive_arg(timeout, "timeout")
    if tgt is None:
        row = MasterHost(__opts__).status()
        masters = {__opts__["id"]: fleet.row_of(row)}
        report = {"masters": masters, "counts": fleet.counts_of(masters), "not_masters": {},
                  "no_answer": []}
    else:
        with _SaltIO(__opts__, None) as io:
            report = fleet.fleet_status(io, tgt, tgt_type, timeout)
    return _output(report)


def _output(report):
    """Let salt-run show the report with this extension's outputter (``--out`` overrides it)."""
    return {"data": report, "outputter": "master_plugin"}


def update(
    tgt=None,
    tgt_type="glob",
    version=None,
    batch="25%",
    canary=1,
    max_failures=0,
    health_timeout=300,
    rollback=True,
    test=False,
    timeout=None,
):
    """
    Update the plugin on a fleet of masters, safely: plan (masters ``up_to_date`` are skipped,
    ``cannot_update_*`` ones listed and left alone), then the canary masters alone, then the rest
    in batches; each batch is updated and health-gated (salt-master back with a new pid,
    answering, running the new version) before the next starts.  A master that fails its gate is
    rolled back to its previous version.  When failures exceed ``max_failures`` no new batch
    starts.  Progress lines are printed as it goes and fired on the master's event bus under
    ``salt/master_plugin/update/<jid>/...``.  The exit code is non-zero when a master failed.

    CLI Example:

    .. code-block:: bash

        salt-run master_plugin.update tgt='master*'
        salt-run master_plugin.update tgt='master*' test=True
        salt-run master_plugin.update tgt='master*' version='"8.18.3.6"' batch=2 canary=1 max_failures=1
        salt-run master_plugin.update          # the master this runner runs on

    tgt / tgt_type
        The minions on the master hosts (default ``glob``). No target: this master.
    version
        The version (quoted). Default: RaaS's current.
    batch
        Masters per batch after the canary: a count or a percentage. Default: ``25%``.
    canary
        Masters updated first, alone. Default: ``1``.
    max_failures
        Failures tolerated (count or percentage) before the rollout stops. Default: ``0``.
    health_timeout
        Seconds a restarted master has to prove itself. Default: ``300``.
    rollback
        Roll back a master that fails its health gate. Default: ``True``.
    test
        Return the plan and change nothing. Default: ``False``.
    timeout
        Seconds to wait for one master's update. Default: ``health_timeout`` + 120.
    """
    version = version_arg(version)
    rollout.check_count_or_percent(batch, "batch")
    rollout.check_count_or_percent(max_failures, "max_failures")
    if isinstance(canary, bool) or not isinstance(canary, int) or canary < 0:
        raise SaltInvocationError(f"canary must be a count (0 or more), not {canary!r}")
    positive_arg(health_timeout, "health_timeout")
    bool_arg(rollback, "rollback")
    bool_arg(test, "test")
    if timeout is not None:
        positive_arg(timeout, "timeout")
    jid = _jid()
    if tgt is None:
        return _update_local(version, test, jid)

    lock = FileLock(
        os.path.join(__opts__["cachedir"], FLEET_LOCK),
        timeout=0,
        purpose=f"salt-run master_plugin.update jid {jid} by {getpass.getuser()}",
    )
    with lock, _SaltIO(__opts__, globals().get("__jid_event__")) as io:
        report = fleet.run(
            io,
            tgt, tgt_type, jid, version=version, batch=batch, canary=canary,
            max_failures=max_failures, health_timeout=health_timeout, rollback=rollback,
            test=test, timeout=timeout,
        )
    if report["result"] is False:
        report["retcode"] = 1
    return _output(report)


def _update_local(version, test, jid):
    """Update the master this runner runs on, from the runner's own process."""
    host = MasterHost(__opts__)
    if test:
        row = fleet.row_of(host.status())
        return _output({"test": True, "masters": {__opts__["id"]: row},
                        "counts": fleet.counts_of({__opts__["id"]: row}), "result": None})
    restarter = restart_from_salt(host.settings, salt.loader.minion_mods(__opts__), host.pidfile)
    ret = Update(host, jid, restarter).run(version)
    entry = dict(ret, outcome="updated" if ret["result"] else "failed", rolled_back=False)
    report = {"masters": {__opts__["id"]: entry}, "summary": {}, "result": ret["result"]}
    if not ret["result"]:
        report["retcode"] = 1
    return _output(report)


def download(version=None, dest=None):
    """
    Download a verified plugin wheel on this (manager) master, for a manual install on a master
    that can't be updated automatically.

    CLI Example:

    .. code-block:: bash

        salt-run master_plugin.download dest=/tmp
        salt-run master_plugin.download version='"8.16.0.24"' dest=/tmp/SSEAPE.whl

    version
        The version (quoted). Default: RaaS's current.
    dest
        A folder, or the path of the file to write. Required.
    """
    version = version_arg(version)
    dest_arg(dest)
    return copy_out(MasterHost(__opts__), version, dest)
