"""
Facts about the live salt-master on this host: its process (from its pid file and the process
table) and, from those, which plugin version it is *running* -- which differs from the version
*installed* on disk between an install and the next restart.
"""
import logging
import os
import time

import psutil

log = logging.getLogger(__name__)


def master_process(pidfile):
    """
    ``{"pid", "started", "user"}`` of the salt-master named by ``pidfile``, or ``None`` when the
    file is missing or names no live process.
    """
    try:
        with open(pidfile, encoding="utf-8") as fh:
            pid = int(fh.read().strip() or 0)
    except (OSError, ValueError):
        return None
    if pid <= 0:
        return None
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return {"pid": pid, "started": proc.create_time(), "user": proc.username()}
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def is_descendant_of(pid, of_pid):
    """True when process ``pid`` runs inside the process tree of ``of_pid``."""
    try:
        proc = psutil.Process(pid)
        return any(parent.pid == of_pid for parent in proc.parents()) or pid == of_pid
    except psutil.NoSuchProcess:
        return False


def wait_for_new_master(pidfile, old_pid, not_before, timeout, interval=0.5):
    """
    Wait until ``pidfile`` names a live salt-master other than ``old_pid`` that started after
    ``not_before`` (epoch seconds).  Returns its :func:`master_process` facts or ``None``.
    """
    deadline = time.monotonic() + timeout
    while True:
        proc = master_process(pidfile)
        if proc and proc["pid"] != old_pid and proc["started"] >= (not_before or 0):
            return proc
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def fmt_time(epoch):
    if epoch is None:
        return "unknown"
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def running_version(plugin, proc, pidfile, previous=None):
    """
    ``(version, reason)``: the plugin version the live salt-master runs.

    :param plugin: the probe's ``plugin`` facts (``version``, ``installed_at``) or ``None``.
    :param proc: :func:`master_process` facts or ``None``.
    :param previous: the version installed before the current one, when known (from the update
        history or from RaaS's view of this master).

    ``reason`` is ``None`` when the master runs what is installed.
    """
    if proc is None:
        return None, f"salt-master is not running (no live process named by {pidfile})"
    if not plugin:
        return None, None
    installed_at = plugin.get("installed_at")
    if installed_at is None or proc["started"] >= installed_at:
        return plugin["version"], None
    return previous, (
        f"salt-master (pid {proc['pid']}, started {fmt_time(proc['started'])}) still runs "
        f"{previous or 'the previous plugin'}: plugin {plugin['version']} was installed at "
        f"{fmt_time(installed_at)}, after it started; restart salt-master to load it"
    )


def master_user(master_opts, proc):
    """The user the salt-master runs as: the live process's, else its configured ``user``."""
    if proc and proc.get("user"):
        return proc["user"]
    return master_opts.get("user") or "root"


def pidfile_of(master_opts):
    return master_opts.get("pidfile") or os.path.join("/var/run", "salt-master.pid")
