"""
The operations on one salt-master host, in plain Python.

:class:`MasterHost` is built from the salt-master's opts (its own configuration: ``sseapi_*``,
``cachedir``, ``master_plugin:``) and is what the execution module and the runner call.
"""
import dataclasses
import logging
import os

import salt.config
from packaging.version import Version

from saltext_masterplugin.core import hostfacts
from saltext_masterplugin.core import pyenv
from saltext_masterplugin.core import status as status_model
from saltext_masterplugin.core.history import History
from saltext_masterplugin.core.errors import MasterPluginError
from saltext_masterplugin.core.errors import NotAMasterError
from saltext_masterplugin.core.errors import RaasError
from saltext_masterplugin.core.plugin_cache import PluginCache
from saltext_masterplugin.core.raas import RaasClient
from saltext_masterplugin.core.settings import plugin_settings
from saltext_masterplugin.core.settings import raas_settings
from saltext_masterplugin.core.wheels import normalise_offers

log = logging.getLogger(__name__)

DEFAULT_MASTER_CONFIG = "/etc/salt/master"


def load_master_opts(path=DEFAULT_MASTER_CONFIG):
    """
    The salt-master's configuration from ``path`` (and its ``master.d/``), as the master itself
    reads it.  Raises :class:`NotAMasterError` when there is no such file.
    """
    if not os.path.isfile(path):
        raise NotAMasterError(
            f"no salt-master configuration at {path}: this host is not a salt-master, or its "
            "configuration lives elsewhere (set master_plugin:master_config in the minion's "
            "configuration)"
        )
    return salt.config.master_config(path)


class MasterHost:
    """
    :param master_opts: the salt-master's configuration (as ``salt.config.master_config``
        returns it).
    :param overrides: ``master_plugin:`` options that win over the master's own.
    """

    def __init__(self, master_opts, overrides=None):
        self.opts = master_opts
        self.settings = plugin_settings(master_opts, overrides)
        self.master_id = master_opts.get("id")
        self.cache = PluginCache(
            self.settings.cache_dir,
            self.settings.name,
            self.settings.max_download_size,
            self.settings.lock_timeout,
        )
        self.history = History(self.settings.cache_dir)
        self.pidfile = hostfacts.pidfile_of(master_opts)

    def describe(self, master_config=None):
        """The effective settings, for people and templates (no secret in it)."""
        settings = dataclasses.asdict(self.settings)
        settings.update(settings.pop("restart_options"))
        return {
            "master_config": master_config,
            "master_id": self.master_id,
            "sseapi_server": self.opts.get("sseapi_server"),
            "sseapi_username": self.opts.get("sseapi_username"),
            "pidfile": self.pidfile,
            "master_plugin": settings,
        }

    def raas(self):
        """A new :class:`RaasClient` for this master's RaaS (use it as a context manager)."""
        return RaasClient(raas_settings(self.opts))

    def offers(self, client):
        """What RaaS offers, as a list of :class:`~saltext_masterplugin.core.wheels.Offer`."""
        return normalise_offers(
            client.get_plugin_versions(),
            self.settings.name,
            client.settings.server,
            self.settings.download_path,
        )

    def versions(self):
        """What RaaS offers, each as a dict with ``cached`` (verified in the plugin cache)."""
        with self.raas() as client:
            offers = self.offers(client)
        manifest = self.cache.manifest()
        return [
            dict(
                offer.to_dict(),
                cached=self.cache.verify(
                    offer.filename, offer.sha256, entry=manifest.get(offer.filename)
                ),
            )
            for offer in offers
        ]

    def sync(self, version=None):
        """
        Fetch into the plugin cache every offered version it lacks (only ``version`` when given).
        """
        with self.raas() as client:
            offers = self.offers(client)
            if version is not None:
                wanted = [o for o in offers if Version(o.version) == Version(version)]
                if not wanted:
                    raise MasterPluginError(
                        f"RaaS does not offer plugin version {version}; it offers "
                        + (", ".join(o.version for o in offers) or "nothing")
                    )
                offers = wanted
            result = self.cache.sync(offers, client)
        result["cache_dir"] = self.cache.directory
        return result

    def environment(self):
        """What the salt-master's Python has installed (see :func:`pyenv.probe`)."""
        return pyenv.probe(self.settings.python, self.settings.name)

    def manual_install_command(self, filename="<wheel>"):
        """What a person runs to install a cached wheel by hand."""
        wheel = f"{self.cache.directory}/{filename}"
        return f"salt-pip install {wheel} (onedir) or {self.settings.python} -m pip install {wheel}"

    def raas_view(self, client):
        """RaaS's record of this master (``master.get_master_details``), or ``None``."""
        try:
            ret = client.rpc("master", "get_master_details", master_id=self.master_id)
        except RaasError as err:
            log.debug("RaaS has no master details for %s: %s", self.master_id, err)
            return None
        rows = ret.get("results") if isinstance(ret, dict) else ret
        for row in rows or []:
            if isinstance(row, dict) and row.get("master_id") == self.master_id:
                return row
        return None

    def facts(self, env=None, raas_row=None):
        """The facts a status is computed from (no RaaS call)."""
        env = env or self.environment()
        plugin = env.get("plugin")
        proc = hostfacts.master_process(self.pidfile)
        previous = None
        if plugin:
            record = self.history.last_change(to=plugin["version"])
            previous = record.get("from") if record else None
            if previous is None and raas_row and raas_row.get("plugin_version"):
                previous = str(raas_row["plugin_version"]).lstrip("v")
        running, restart_reason = hostfacts.running_version(plugin, proc, self.pidfile, previous)
        user = hostfacts.master_user(self.opts, proc)
        return {
            "env": env,
            "installed": (plugin or {}).get("version"),
            "installed_at": (plugin or {}).get("installed_at"),
            "process": proc,
            "running": running,
            "restart_reason": restart_reason,
            "user": user,
            "salt": (env.get("salt") or {}).get("version"),
        }

    def blocked(self, facts):
        """``(status, reasons)`` of an unmet update prerequisite, or ``(None, [])``."""
        return status_model.prerequisites(
            facts["salt"],
            facts["installed"],
            facts["user"] == "root" or not self.settings.require_root,
            facts["user"],
            self.settings.min_salt_version,
            self.settings.min_plugin_version,
            self.manual_install_command(),
        )

    def status(self):
        """The plugin status of this master, in RaaS's vocabulary, with the facts behind it."""
        env = self.environment()
        facts = self.facts(env)
        offers, raas_error, config_error, raas_row = [], None, None, None
        try:
            with self.raas() as client:
                offers = self.offers(client)
                if facts["restart_reason"] and facts["running"] is None and facts["process"]:
                    # Only RaaS can tell which plugin a not-yet-restarted master still runs
                    # when our history does not say; don't ask it otherwise (one RPC saved).
                    raas_row = self.raas_view(client)
                    facts = self.facts(env, raas_row)
        except RaasError as err:
            raas_error = str(err)
        except MasterPluginError as err:
            # Misconfiguration (no sseapi_server, a bad offer): not a network problem.
            config_error = str(err)
        by_key = {o.key: o.version for o in offers}
        last = self.history.last()
        status, reasons = self.blocked(facts)
        if status is None and config_error:
            status, reasons = status_model.CANNOT_UPDATE_REASON_UNKNOWN, [config_error]
        if status is None:
            status, reasons = status_model.evaluate(
                facts["installed"], by_key.get("current"), raas_error
            )
            settled = (
                facts["installed"] == by_key.get("current") and facts["running"] == facts["installed"]
            )
            if status != status_model.CANNOT_UPDATE_DISCONNECTED:
                if facts["installed"] and not env.get("importable"):
                    status, reasons = status_model.NEEDS_UPDATE, [
                        f"installed plugin {facts['installed']} does not import "
                        f"({env.get('import_error')}); update to reinstall it"
                    ]
                elif facts["restart_reason"] and facts["process"] is not None:
                    status, reasons = status_model.RESTARTING, [facts["restart_reason"]]
                elif (
                    last and last.get("plugin_status") == status_model.UPGRADE_FAILED
                    and not settled
                ):
                    status = status_model.UPGRADE_FAILED
                    reasons = [f"the last update (jid {last.get('jid')}) failed"] + list(
                        last.get("messages") or []
                    )[-3:] + reasons
            if facts["process"] is None:
                reasons = reasons + [facts["restart_reason"]]
        proc = facts["process"] or {}
        return {
            "master_id": self.master_id,
            "plugin_status": status,
            "reasons": reasons,
            "installed_version": facts["installed"],
            "running_version": facts["running"],
            "latest_version": by_key.get("current"),
            "rollback_version": by_key.get("rollback"),
            "offered": by_key,
            "cached_versions": [e.get("version") for e in self.cache.cached()],
            "salt_version": facts["salt"],
            "master_pid": proc.get("pid"),
            "master_started": hostfacts.fmt_time(proc["started"]) if proc else None,
            "master_user": facts["user"],
            "raas_plugin_version": (raas_row or {}).get("plugin_version"),
            "last_update_jid": last.get("jid") if last else None,
            "last_update": last,
            "python": env.get("python"),
            "cache_dir": self.cache.directory,
        }
