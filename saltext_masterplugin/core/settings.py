"""
Settings, resolved from a salt-master's configuration.

The RaaS connection reuses the master plugin's own ``sseapi_*`` keys (a site that runs the plugin
already has them, usually in ``/etc/salt/master.d/raas.conf``); this extension's own knobs live
under one ``master_plugin:`` mapping.  Nothing here does I/O.
"""
import dataclasses
import logging
import os
import sys
import urllib.parse

from packaging.version import InvalidVersion
from packaging.version import Version

from saltext_masterplugin.core.errors import MasterPluginError

log = logging.getLogger(__name__)

DEFAULT_PLUGIN_NAME = "SSEAPE"
DEFAULT_DOWNLOAD_PATH = "/static/master_plugins/{filename}"
# The real plugin wheel is a few MiB; 200 MiB stops an endless or hostile body long before it
# fills a master's disk while leaving room for much larger future plugins.
DEFAULT_MAX_DOWNLOAD_SIZE = 200 * 1024 * 1024
# The plugin's own default for sseapi_timeout.
DEFAULT_RAAS_TIMEOUT = 200
# How long a cache writer waits for another one before giving up.
DEFAULT_LOCK_TIMEOUT = 120
DEFAULT_MIN_SALT_VERSION = "3002.1"
DEFAULT_MIN_PLUGIN_VERSION = "8.11.2"

# Every key this extension reads from ``master_plugin:``, with its default.
PLUGIN_OPTION_DEFAULTS = {
    "name": DEFAULT_PLUGIN_NAME,
    "cache_dir": None,  # <master cachedir>/plugin_cache
    "download_path": DEFAULT_DOWNLOAD_PATH,
    "max_download_size": DEFAULT_MAX_DOWNLOAD_SIZE,
    "lock_timeout": DEFAULT_LOCK_TIMEOUT,
    "python": None,  # the interpreter that runs Salt
    "min_salt_version": DEFAULT_MIN_SALT_VERSION,
    "min_plugin_version": DEFAULT_MIN_PLUGIN_VERSION,
    "require_root": True,  # automated updates need a salt-master running as root
    # How salt-master is restarted after an install (see core/restart.py).
    "restart": "service",
    "service_name": "salt-master",
    "supervisorctl": None,  # supervisorctl binary or virtualenv (Salt's bin_env)
    "supervisord_conf": None,
    "restart_command": None,
    "restart_timeout": 120,
    "restart_detach": "auto",
}
RESTART_METHODS = ("service", "supervisord", "command", "none")
RESTART_KEYS = (
    "service_name",
    "supervisorctl",
    "supervisord_conf",
    "restart_command",
    "restart_timeout",
    "restart_detach",
)


def redact_url(url, drop=False):
    """``url`` with any ``user:password@`` replaced by ``***@`` (or removed with ``drop``)."""
    parts = urllib.parse.urlsplit(str(url))
    if "@" not in parts.netloc:
        return str(url)
    host = parts.netloc.rsplit("@", 1)[1]
    netloc = host if drop else f"***@{host}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _as_bool(value, key):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "on", "1"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "no", "off", "0"):
        return False
    raise MasterPluginError(f"{key} must be true or false, not {value!r}")


def _as_positive_number(value, key):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise MasterPluginError(f"{key} must be a positive number, not {value!r}")
    return value


@dataclasses.dataclass(frozen=True)
class RaasSettings:
    """How to reach RaaS and authenticate to it."""

    server: str
    username: str = None
    password: str = dataclasses.field(default=None, repr=False)
    config_name: str = "internal"
    verify: object = True  # True, False or a CA bundle path
    client_cert: object = None  # None, a path, or (cert, key)
    timeout: float = DEFAULT_RAAS_TIMEOUT
    jwt_file: str = None


@dataclasses.dataclass(frozen=True)
class PluginSettings:
    """This extension's own options (``master_plugin:``), resolved."""

    name: str
    cache_dir: str
    download_path: str
    max_download_size: int
    lock_timeout: float
    python: str
    min_salt_version: str
    min_plugin_version: str
    require_root: bool = True
    restart: str = "service"
    restart_options: dict = dataclasses.field(default_factory=dict)


def raas_settings(master_opts):
    """
    Build :class:`RaasSettings` from a salt-master's opts.

    Raises :class:`MasterPluginError` naming the key when the configuration can't be used.
    """
    server = master_opts.get("sseapi_server")
    if not server or not isinstance(server, str):
        raise MasterPluginError(
            "sseapi_server is not set in the salt-master configuration; the master plugin's "
            "raas.conf (usually /etc/salt/master.d/raas.conf) must name the RaaS server"
        )
    server = server.rstrip("/")
    if not server.startswith(("http://", "https://")):
        raise MasterPluginError(
            f"sseapi_server must start with http:// or https://, not {redact_url(server)!r}"
        )
    if "@" in urllib.parse.urlsplit(server).netloc:
        # RaaS authenticates by JWT, never by credentials in the URL; dropping them here keeps
        # them out of every URL we build, log, record or return.
        log.warning(
            "Ignoring the credentials in sseapi_server %s; use sseapi_username and "
            "sseapi_password",
            redact_url(server),
        )
        server = redact_url(server, drop=True)
    verify = _as_bool(master_opts.get("sseapi_ssl_validate_cert", True), "sseapi_ssl_validate_cert")
    if verify and master_opts.get("sseapi_ssl_ca"):
        verify = master_opts["sseapi_ssl_ca"]
    cert = master_opts.get("sseapi_ssl_cert") or None
    key = master_opts.get("sseapi_ssl_key") or None
    client_cert = (cert, key) if cert and key else cert
    timeout = _as_positive_number(
        master_opts.get("sseapi_timeout", DEFAULT_RAAS_TIMEOUT), "sseapi_timeout"
    )
    cachedir = master_opts.get("cachedir") or "/var/cache/salt/master"
    return RaasSettings(
        server=server,
        username=master_opts.get("sseapi_username") or None,
        password=master_opts.get("sseapi_password") or None,
        config_name=master_opts.get("sseapi_config_name") or "internal",
        verify=verify,
        client_cert=client_cert,
        timeout=timeout,
        jwt_file=os.path.join(cachedir, "auth_token.jwt"),
    )


def plugin_settings(master_opts, overrides=None):
    """
    Build :class:`PluginSettings` from the master's ``master_plugin:`` mapping, updated with
    ``overrides`` (the minion's own ``master_plugin:`` mapping, for instance).
    """
    merged = dict(PLUGIN_OPTION_DEFAULTS)
    for source in (master_opts.get("master_plugin"), overrides):
        if source is None:
            continue
        if not isinstance(source, dict):
            raise MasterPluginError(f"master_plugin must be a mapping, not {source!r}")
        merged.update({k: v for k, v in source.items() if k in PLUGIN_OPTION_DEFAULTS})
    cache_dir = merged["cache_dir"] or os.path.join(
        master_opts.get("cachedir") or "/var/cache/salt/master", "plugin_cache"
    )
    if "{filename}" not in str(merged["download_path"]):
        raise MasterPluginError(
            "master_plugin:download_path must contain '{filename}', "
            f"not {merged['download_path']!r}"
        )
    for key in ("min_salt_version", "min_plugin_version", "name"):
        if not isinstance(merged[key], str) or not merged[key]:
            raise MasterPluginError(
                f"master_plugin:{key} must be a quoted string, not {merged[key]!r}"
            )
    for key in ("min_salt_version", "min_plugin_version"):
        try:
            Version(merged[key])
        except InvalidVersion as err:
            raise MasterPluginError(
                f"master_plugin:{key} {merged[key]!r} is not a version"
            ) from err
    if merged["restart"] not in RESTART_METHODS:
        raise MasterPluginError(
            f"master_plugin:restart must be one of {', '.join(RESTART_METHODS)}, "
            f"not {merged['restart']!r}"
        )
    _as_positive_number(merged["restart_timeout"], "master_plugin:restart_timeout")
    if merged["restart_detach"] not in ("auto", True, False):
        raise MasterPluginError(
            "master_plugin:restart_detach must be auto, true or false, "
            f"not {merged['restart_detach']!r}"
        )
    return PluginSettings(
        require_root=_as_bool(merged["require_root"], "master_plugin:require_root"),
        restart=merged["restart"],
        restart_options={key: merged[key] for key in RESTART_KEYS},
        name=merged["name"],
        cache_dir=str(cache_dir),
        download_path=str(merged["download_path"]),
        max_download_size=int(
            _as_positive_number(merged["max_download_size"], "master_plugin:max_download_size")
        ),
        lock_timeout=float(
            merged["lock_timeout"]
            if merged["lock_timeout"] == 0
            else _as_positive_number(merged["lock_timeout"], "master_plugin:lock_timeout")
        ),
        python=merged["python"] or sys.executable,
        min_salt_version=merged["min_salt_version"],
        min_plugin_version=merged["min_plugin_version"],
    )
