"""
One master's update: prerequisites -> sync -> install -> restart -> status, with the history
and RaaS told at each step.

Guarantees:

* one update per master at a time (a lock in the plugin cache folder; a second one fails at
  once, naming the first);
* the plugin's bytes come from the verified cache;
* a failed install leaves the previous version installed and importable (reinstalled from the
  cache when pip left anything else behind);
* a master that does not come back after the restart is rolled back to the previous version
  and restarted again;
* every attempt is one history record with the job's JID; RaaS hears ``upgrading`` ->
  ``restarting`` -> ``up_to_date`` or ``upgrade_failed``, and RaaS being unreachable never fails
  the local update (it is recorded in the messages).
"""
import logging
import os
import shutil
import tempfile
import time

from packaging.version import Version

from saltext_masterplugin.core import installer
from saltext_masterplugin.core import status as S
from saltext_masterplugin.core.errors import MasterPluginError
from saltext_masterplugin.core.errors import RaasError
from saltext_masterplugin.core.files import private_dir
from saltext_masterplugin.core.files import remove_quietly
from saltext_masterplugin.core.files import sha256_file
from saltext_masterplugin.core.locking import FileLock
from saltext_masterplugin.core.restart import outcome

log = logging.getLogger(__name__)

UPDATE_LOCK = "update.lock"


class Update:
    """
    :param host: a :class:`~saltext_masterplugin.core.api.MasterHost`.
    :param jid: the JID of the job doing it (20 characters).
    :param restarter: a :class:`~saltext_masterplugin.core.restart.Restarter`, or ``None`` to
        leave the restart to someone else (the ``service.running`` state that watches
        ``master_plugin.updated``).
    """

    def __init__(self, host, jid, restarter=None):
        self.host = host
        self.jid = jid
        self.restarter = restarter
        self.messages = []
        self.client = None

    # -- helpers ------------------------------------------------------------------------------

    def say(self, message, *args):
        text = message % args if args else message
        log.info("%s", text)
        self.messages.append(text)

    def report(self, status):
        """Tell RaaS; never fail the update because RaaS can't be told."""
        if self.client is None:
            return
        try:
            self.client.rpc(
                "master",
                "set_plugin_status",
                self.host.master_id,
                status,
                self.jid,
                list(self.messages),
            )
        except RaasError as err:
            self.say("RaaS was not told %s: %s", status, err)

    def result(self, ok, status, old, new, restart=None, action="update", record=True):
        ret = {
            "result": ok,
            "master_id": self.host.master_id,
            "old": old,
            "new": new,
            "jid": self.jid,
            "plugin_status": status,
            "restart": restart,
            "messages": list(self.messages),
        }
        if record:
            self.host.history.append(
                {
                    "jid": self.jid,
                    "action": action,
                    "from": old,
                    "to": new,
                    "result": ok,
                    "plugin_status": status,
                    "restart": (restart or {}).get("message"),
                    "messages": list(self.messages),
                }
            )
        return ret

    def cached_wheel(self, offer):
        path = os.path.join(self.host.cache.directory, offer.filename)
        if not self.host.cache.verify(offer.filename, offer.sha256):
            raise MasterPluginError(f"{offer.filename} is not verified in the plugin cache")
        return path

    def _install(self, offer, env, reinstall=False):
        return installer.install(
            self.host.settings.python,
            self.host.settings.name,
            self.cached_wheel(offer),
            offer.version,
            self.host.cache.directory,
            target=env.get("extras_dir"),
            reinstall=reinstall,
            has_pip=env.get("has_pip", True),
        )

    def restore(self, old, offers, base_env, force=False):
        """
        Make sure ``old`` is installed and importable again (``force``: reinstall it even if it
        looks installed); return True when it is.
        """
        if old is None:
            return True
        env = self.host.environment()
        if not force and (env.get("plugin") or {}).get("version") == old and env.get("importable"):
            self.say("Plugin %s is still installed and importable", old)
            return True
        offer = find_offer(self.host, offers, old)
        if offer is None:
            self.say(
                "Plugin %s can't be reinstalled: no verified wheel of it is in the cache; "
                "install it by hand",
                old,
            )
            return False
        try:
            self._install(offer, base_env, reinstall=True)
        except MasterPluginError as err:
            self.say("Reinstalling plugin %s failed: %s; reinstall it by hand", old, err)
            return False
        self.say("Reinstalled plugin %s from the cache", old)
        return True

    # -- the flow -----------------------------------------------------------------------------

    def run(self, version=None, allow_downgrade=False, action="update"):
        """Bring this master to ``version`` (``None``: RaaS's current).  Returns a dict."""
        lock = FileLock(
            os.path.join(self.host.cache.directory, UPDATE_LOCK),
            timeout=0,
            purpose=f"master_plugin.{action} jid {self.jid}",
        )
        try:
            private_dir(self.host.cache.directory)
        except OSError as err:
            raise MasterPluginError(
                f"cannot create the plugin cache {self.host.cache.directory}: {err.strerror}"
            ) from err
        with lock:
            try:
                with self.host.raas() as client:
                    self.client = client
                    return self._run(version, allow_downgrade, action)
            except RaasError as err:
                facts = self.host.facts()
                self.say("RaaS could not be asked for plugin versions: %s", err)
                return self.result(
                    False, S.CANNOT_UPDATE_DISCONNECTED, facts["installed"], None, action=action
                )
            finally:
                self.client = None

    def _run(self, version, allow_downgrade, action):
        facts = self.host.facts()
        old = facts["installed"]
        blocked, reasons = self.host.blocked(facts)
        if blocked:
            self.messages.extend(reasons)
            self.report(blocked)
            return self.result(False, blocked, old, None, action=action)

        offers = self.host.offers(self.client)
        if version is None and action == "rollback":
            version = self._rollback_version(offers, old)
        target = pick_offer(self.host, offers, version)
        new = target.version
        if old is not None and Version(new) < Version(old) and not allow_downgrade:
            raise MasterPluginError(
                f"refusing to downgrade the plugin from {old} to {new}; pass "
                "allow_downgrade=True to install an older version on purpose"
            )
        broken = old is not None and not facts["env"].get("importable")
        if broken:
            self.say("Plugin %s is installed but does not import; reinstalling", old)
        if old == new and not broken and (facts["running"] == new or facts["process"] is None):
            # (A stopped salt-master loads the installed plugin when it starts.)
            self.say("Plugin %s is installed; nothing to do", new)
            return self.result(True, S.UP_TO_DATE, old, new, action=action, record=False)

        self.say("Updating plugin %s -> %s (jid %s)", old or "(none)", new, self.jid)
        self.report(S.UPGRADING)
        try:
            return self._apply(facts, offers, target, old, new, broken, action)
        except Exception as err:  # pylint: disable=broad-except
            # Whatever broke, RaaS and the history must not be left at "upgrading".
            self.say("The update stopped: %s", err)
            restored = self.restore(old, offers, facts["env"])
            self.report(S.UPGRADE_FAILED)
            self.result(False, S.UPGRADE_FAILED, old, new, action=action)
            raise MasterPluginError(
                f"the update to {new} stopped: {err}; "
                + ("the previous plugin is in place" if restored else "reinstall the plugin by hand")
            ) from err

    def _apply(self, facts, offers, target, old, new, broken, action):
        wanted = [target] + [o for o in offers if old and o.version == old and o is not target]
        try:
            self.host.cache.sync(wanted, self.client)
        except MasterPluginError as err:
            if not self.host.cache.verify(target.filename, target.sha256):
                self.say("Fetching %s failed: %s", target.filename, err)
                self.report(S.UPGRADE_FAILED)
                return self.result(False, S.UPGRADE_FAILED, old, new, action=action)
            self.say("The previous version could not be cached: %s", err)
        base_env = facts["env"]

        if old != new or broken:
            try:
                downgrade = old is not None and Version(new) < Version(old)
                env = self._install(target, base_env, reinstall=downgrade or broken)
            except MasterPluginError as err:
                self.say("Installing %s failed: %s", target.filename, err)
                restored = self.restore(old, offers, base_env)
                if not restored:
                    self.say("The master has no working plugin: reinstall %s by hand", old)
                self.report(S.UPGRADE_FAILED)
                return self.result(False, S.UPGRADE_FAILED, old, new, action=action)
            installed_at = (env.get("plugin") or {}).get("installed_at")
            self.say("Installed plugin %s", new)
        else:
            installed_at = facts["installed_at"]
            self.say("Plugin %s is installed; the running salt-master still has to load it", new)

        self.report(S.RESTARTING)
        if self.restarter is None:
            restart = outcome(
                None,
                required=True,
                message="the restart is left to the caller (service.running watching this state)",
            )
            self.say("Restart left to the caller")
            return self.result(True, S.RESTARTING, old, new, restart, action=action)

        restart = self.restarter.restart(installed_at)
        self.say("%s", restart["message"])
        if restart["done"]:
            self.report(S.UP_TO_DATE)
            return self.result(True, S.UP_TO_DATE, old, new, restart, action=action)
        if restart["detached"]:
            return self.result(True, S.RESTARTING, old, new, restart, action=action)
        if restart["failed"] and old is not None and old != new:
            self.say("Rolling back to %s because salt-master did not come back", old)
            if self.restore(old, offers, base_env, force=True):
                again = self.restarter.restart(time.time())
                self.say("%s", again["message"])
            self.report(S.UPGRADE_FAILED)
            return self.result(False, S.UPGRADE_FAILED, old, new, restart, action=action)
        if restart["failed"]:
            self.report(S.UPGRADE_FAILED)
            return self.result(False, S.UPGRADE_FAILED, old, new, restart, action=action)
        # A person has to restart it: installed, not yet running.  Not a success.
        return self.result(False, S.RESTARTING, old, new, restart, action=action)

    def _rollback_version(self, offers, old):
        rollback = [o for o in offers if o.key == "rollback"]
        if rollback and rollback[0].version != old:
            return rollback[0].version
        record = self.host.history.last_change(to=old) if old else None
        if record:
            return record["from"]
        raise MasterPluginError(
            "there is no previous plugin version to roll back to: RaaS offers no rollback "
            f"version other than the installed {old}, and the history has none"
        )


def find_offer(host, offers, version):
    """
    The wheel of ``version``: RaaS's offer of it, else the verified copy in the cache (RaaS may
    no longer offer an older version), else ``None``.
    """
    for offer in offers:
        if Version(offer.version) == Version(version):
            return offer
    for entry in host.cache.cached():
        if Version(entry["version"]) == Version(version):
            return _CachedOffer(entry)
    return None


def pick_offer(host, offers, version):
    """The offer to install: RaaS's ``current`` for ``None``, else :func:`find_offer`."""
    if version is None:
        current = [o for o in offers if o.key == "current"]
        if not current:
            raise MasterPluginError("RaaS offers no current plugin version")
        return current[0]
    offer = find_offer(host, offers, version)
    if offer is None:
        raise MasterPluginError(
            f"plugin version {version} is neither offered by RaaS ("
            + (", ".join(o.version for o in offers) or "nothing")
            + ") nor in the plugin cache"
        )
    return offer


class _CachedOffer:
    """A wheel known only from the cache's manifest (RaaS no longer offers it)."""

    def __init__(self, entry):
        self.key = "cache"
        self.version = entry["version"]
        self.filename = entry["filename"]
        self.sha256 = entry["sha256"]
        self.url = entry.get("source")


def copy_out(host, version, dest):
    """
    Copy a verified wheel of ``version`` out of the cache to ``dest`` (a folder or a file path),
    fetching it first when needed; the copy is verified too.
    """
    with host.raas() as client:
        offer = pick_offer(host, host.offers(client), version)
        if not host.cache.verify(offer.filename, offer.sha256):
            host.cache.sync([offer], client)
    source = os.path.join(host.cache.directory, offer.filename)
    target = os.path.join(dest, offer.filename) if os.path.isdir(dest) else dest
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise MasterPluginError(f"dest {dest}: folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".partial-", suffix=".whl")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        digest, size = sha256_file(tmp)
        if digest != offer.sha256:
            raise MasterPluginError(f"the copy of {offer.filename} does not verify; not written")
        os.replace(tmp, target)
    finally:
        remove_quietly(tmp)
    return {"path": target, "version": offer.version, "sha256": digest, "size": size}
