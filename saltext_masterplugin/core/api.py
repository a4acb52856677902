"""
The operations on one salt-master host, in plain Python.

:class:`MasterHost` is built from the salt-master's opts (its own configuration: ``sseapi_*``,
``cachedir``, ``master_plugin:``) and is what the execution module and the runner call.
"""
import logging
import os

import salt.config
from packaging.version import Version

from saltext_masterplugin.core import pyenv
from saltext_masterplugin.core import status as status_model
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

    def installed(self):
        """What the salt-master's Python has installed (see :func:`pyenv.probe`)."""
        return pyenv.probe(self.settings.python, self.settings.name)

    def status(self):
        """The plugin status of this master, in RaaS's vocabulary, with the facts behind it."""
        facts = self.installed()
        plugin = facts.get("plugin") or {}
        installed = plugin.get("version")
        offers, raas_error = [], None
        try:
            with self.raas() as client:
                offers = self.offers(client)
        except RaasError as err:
            raas_error = str(err)
        except MasterPluginError as err:
            # Misconfiguration (no sseapi_server, a bad offer): not a network problem.
            result = self._status_dict(facts, offers)
            result["plugin_status"] = status_model.CANNOT_UPDATE_REASON_UNKNOWN
            result["reasons"] = [str(err)]
            return result
        by_key = {o.key: o for o in offers}
        latest = by_key["current"].version if "current" in by_key else None
        status, reasons = status_model.evaluate(installed, latest, raas_error)
        result = self._status_dict(facts, offers)
        result["plugin_status"] = status
        result["reasons"] = reasons
        return result

    def _status_dict(self, facts, offers):
        by_key = {o.key: o.version for o in offers}
        return {
            "master_id": self.master_id,
            "plugin_status": None,
            "reasons": [],
            "installed_version": (facts.get("plugin") or {}).get("version"),
            "latest_version": by_key.get("current"),
            "rollback_version": by_key.get("rollback"),
            "offered": by_key,
            "cached_versions": [e.get("version") for e in self.cache.cached()],
            "salt_version": (facts.get("salt") or {}).get("version"),
            "python": facts.get("python"),
            "cache_dir": self.cache.directory,
        }
