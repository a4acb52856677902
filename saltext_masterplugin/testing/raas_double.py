"""
A RaaS double: a real HTTP server on loopback that speaks the protocol the master plugin uses.

* ``GET /account/login`` sets an ``_xsrf`` cookie when XSRF is on;
* ``POST /account/login`` answers ``{"attributes": {...}, "jwt": ...}`` or 401 "Invalid credentials";
* ``POST /rpc`` (one call or a list) answers ``{"riq", "ret", "error", "warnings"}``; 401 "JWT not
  authorized" for an unknown or expired JWT; 403 + ``X-XSRFToken-Missing`` without a valid XSRF
  token;
* ``GET /static/master_plugins/<filename>`` serves the plugin wheels (JWT required);
* every answer carries ``RaaS-Instance-ID``.

Fault knobs (``fail_next``, ``delay``, ``drop_next``, ``truncate_next_download``,
``corrupt_next_download``, ``advertise_sha256``, ``expire_jwts``, ``change_instance``) let tests
break it the way real servers and networks break.  Everything it received is recorded in
``calls`` (RPC) and ``requests`` (HTTP), so tests can assert on what RaaS saw.
"""
import hashlib
import http.server
import os
import secrets
import ssl
import threading

from saltext_masterplugin.core.status import STATUSES as PLUGIN_STATUSES
from saltext_masterplugin.testing.raas_handler import DOWNLOAD_PREFIX
from saltext_masterplugin.testing.raas_handler import make_handler



class _Faults:
    def __init__(self):
        self.fail = []  # [status, remaining, path_prefix]
        self.drop = []  # [remaining, path_prefix]
        self.delay = {}  # path_prefix -> seconds
        self.truncate = 0
        self.corrupt = 0
        self.expire_before = []  # path prefixes: expire every JWT before the next such request
        self.forget_xsrf_before = []  # path prefixes: forget every XSRF token before the next
        self.raw = []  # [remaining, path_prefix, status, body, content_type]
        self.throttle = 0  # download bytes per second (0: as fast as possible)


class RaasDouble:
    """
    :param users: ``{username: password}`` accepted by ``POST /account/login``.
    :param xsrf: whether XSRF protection is on.
    """

    def __init__(self, host="127.0.0.1", port=0, users=None, xsrf=True, tls_cert=None):
        self.users = dict(users or {"root": "salt"})
        self.xsrf = xsrf
        self.lock = threading.RLock()
        self.instance_id = secrets.token_hex(8)
        self.jwts = {}  # token -> username
        self.issued = []  # every JWT ever issued (to check that none leaks)
        self.reject_all_jwts = False  # answer "JWT not authorized" to every JWT, even fresh ones
        self.xsrf_tokens = set()
        self.plugins = {}  # key -> {filename, data, sha256, git_describe, build_date, message}
        self.advertised = {}  # key -> sha256 to advertise instead of the real one
        self.calls = []  # every RPC call: {resource, method, args, kwargs, user}
        self.requests = []  # every HTTP request: (method, path, status)
        self.plugin_status = {}  # master_id -> {status, last_update_jid, log_messages}
        self.masters = {}  # master_id -> details, as RaaS's master table
        self.faults = _Faults()
        self.riq = 0
        self._server = http.server.ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self.tls = bool(tls_cert)
        if tls_cert:  # (certfile, keyfile): serve HTTPS
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls_cert)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = None

    # -- life cycle ---------------------------------------------------------------------------

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- content ------------------------------------------------------------------------------

    def add_plugin(self, key, path, git_describe=None, build_date="2026-01-01T00:00:00"):
        """Offer the wheel at ``path`` as ``key`` (``current``, ``rollback``, ...)."""
        with open(path, "rb") as fh:
            data = fh.read()
        filename = os.path.basename(path)
        version = filename.split("-")[1]
        with self.lock:
            self.plugins[key] = {
                "filename": filename,
                "data": data,
                "sha256": hashlib.sha256(data).hexdigest(),
                "git_describe": git_describe or f"v{version}",
                "build_date": build_date,
                "message": f"SSEAPE {version}",
            }

    def offer_raw(self, key, entry):
        """Offer an arbitrary entry (for malformed-answer tests); no bytes are served for it."""
        with self.lock:
            self.plugins[key] = dict(entry, data=None)

    def add_master(self, master_id, **details):
        with self.lock:
            self.masters[master_id] = dict(
                {
                    "master_id": master_id,
                    "salt_version": None,
                    "plugin_version": None,
                    "presence_status": "online",
                },
                **details,
            )

    def calls_of(self, method, resource="master"):
        with self.lock:
            return [c for c in self.calls if c["method"] == method and c["resource"] == resource]

    def downloads(self):
        with self.lock:
            return [r for r in self.requests if r[0] == "GET" and r[1].startswith(DOWNLOAD_PREFIX)]

    # -- fault knobs --------------------------------------------------------------------------

    def fail_next(self, count, status=503, path_prefix=""):
        """Answer the next ``count`` requests under ``path_prefix`` with HTTP ``status``."""
        with self.lock:
            self.faults.fail.append([status, count, path_prefix])

    def drop_next(self, count=1, path_prefix=""):
        """Close the connection of the next ``count`` requests without answering."""
        with self.lock:
            self.faults.drop.append([count, path_prefix])

    def delay(self, seconds, path_prefix=""):
        """Wait ``seconds`` before answering requests under ``path_prefix`` (0 to stop)."""
        with self.lock:
            self.faults.delay[path_prefix] = seconds

    def truncate_next_download(self, count=1):
        """Advertise the full Content-Length but send half the bytes, then close."""
        with self.lock:
            self.faults.truncate += count

    def corrupt_next_download(self, count=1):
        """Flip one byte in the middle of the next ``count`` downloads."""
        with self.lock:
            self.faults.corrupt += count

    def advertise_sha256(self, key, sha256):
        """Advertise ``sha256`` for plugin ``key`` instead of its real hash."""
        with self.lock:
            self.advertised[key] = sha256

    def expire_jwts(self):
        """Every JWT issued so far stops being accepted ("JWT not authorized")."""
        with self.lock:
            self.jwts.clear()

    def answer_raw_next(self, body, status=200, content_type="text/html", count=1, path_prefix=""):
        """Answer the next ``count`` requests under ``path_prefix`` with ``body`` as it is."""
        with self.lock:
            self.faults.raw.append([count, path_prefix, status, body, content_type])

    def throttle_downloads(self, bytes_per_second):
        """Send downloads at about ``bytes_per_second`` (0 to stop throttling)."""
        with self.lock:
            self.faults.throttle = bytes_per_second

    def expire_jwts_before(self, path_prefix):
        """Expire every JWT just before the next request under ``path_prefix`` (mid-run expiry)."""
        with self.lock:
            self.faults.expire_before.append(path_prefix)

    def forget_xsrf_before(self, path_prefix):
        """Forget every XSRF token just before the next request under ``path_prefix``."""
        with self.lock:
            self.faults.forget_xsrf_before.append(path_prefix)

    def issue_jwt(self, username="root"):
        """A JWT issued out of band (the plugin's key-authentication token)."""
        token = "jwt." + secrets.token_urlsafe(24)
        with self.lock:
            self.jwts[token] = username
            self.issued.append(token)
        return token

    def change_instance(self):
        """Behave like a restarted RaaS: new instance id, no JWT or XSRF token survives."""
        with self.lock:
            self.instance_id = secrets.token_hex(8)
            self.jwts.clear()
            self.xsrf_tokens.clear()

    def _take_fault(self, path):
        with self.lock:
            delay = max(
                (s for p, s in self.faults.delay.items() if path.startswith(p)), default=0
            )
            drop = fail = None
            for prefix in list(self.faults.expire_before):
                if path.startswith(prefix):
                    self.faults.expire_before.remove(prefix)
                    self.jwts.clear()
            for prefix in list(self.faults.forget_xsrf_before):
                if path.startswith(prefix):
                    self.faults.forget_xsrf_before.remove(prefix)
                    self.xsrf_tokens.clear()
            for entry in self.faults.drop:
                if entry[0] > 0 and path.startswith(entry[1]):
                    entry[0] -= 1
                    drop = True
                    break
            raw = None
            for entry in self.faults.raw:
                if entry[0] > 0 and path.startswith(entry[1]):
                    entry[0] -= 1
                    raw = entry[2:]
                    break
            if raw:
                return delay, None, raw
            if not drop:
                for entry in self.faults.fail:
                    if entry[1] > 0 and path.startswith(entry[2]):
                        entry[1] -= 1
                        fail = entry[0]
                        break
        return delay, drop, fail

    # -- RPC ----------------------------------------------------------------------------------

    def _rpc_get_plugin_versions(self):
        with self.lock:
            return {
                key: {
                    "filename": p.get("filename"),
                    "sha256": self.advertised.get(key, p.get("sha256")),
                    "git_describe": p.get("git_describe"),
                    "name": f"/var/lib/raas/master_plugins/{p.get('filename')}",
                    "build_date": p.get("build_date"),
                    "message": p.get("message"),
                }
                for key, p in self.plugins.items()
            }

    def _rpc_set_plugin_status(self, master_id, status, last_update_jid=None, log_messages=None):
        if status not in PLUGIN_STATUSES:
            raise ValueError(f"invalid plugin status {status!r}")
        if last_update_jid is not None and len(str(last_update_jid)) != 20:
            raise ValueError("last_update_jid must be exactly 20 characters")
        with self.lock:
            self.plugin_status[master_id] = {
                "plugin_status": status,
                "last_update_jid": last_update_jid,
                "log_messages": log_messages,
            }
            self.masters.setdefault(master_id, {"master_id": master_id})
            self.masters[master_id].update(
                plugin_status=status, last_update_jid=last_update_jid
            )
        return True

    def _rpc_get_master_details(self, master_id=None):
        with self.lock:
            rows = [dict(m) for m in self.masters.values()]
        if master_id is not None:
            rows = [m for m in rows if m.get("master_id") == master_id]
        return {"results": rows}

    def _rpc_get_plugin_status(self, master_id=None):
        with self.lock:
            rows = [
                dict(
                    master_id=m,
                    plugin_status=d.get("plugin_status"),
                    last_update_jid=d.get("last_update_jid"),
                    plugin_version=d.get("plugin_version"),
                    salt_version=d.get("salt_version"),
                    presence_status=d.get("presence_status", "online"),
                )
                for m, d in self.masters.items()
            ]
        if master_id is not None:
            rows = [m for m in rows if m["master_id"] == master_id]
        return {"results": rows}

    def _rpc_save_master(self, master_id, **details):
        with self.lock:
            self.masters.setdefault(master_id, {"master_id": master_id}).update(details)
        return True

    def _rpc_update_plugin(self, master_id):
        with self.lock:
            if master_id not in self.masters:
                raise ValueError(f"unknown master {master_id!r}")
        return {"master_id": master_id, "queued": True}

    def _rpc_get_master_cmd(self, *args, **kwargs):
        return {"results": []}

    _METHODS = {
        ("master", "get_plugin_versions"): "_rpc_get_plugin_versions",
        ("master", "set_plugin_status"): "_rpc_set_plugin_status",
        ("master", "get_master_details"): "_rpc_get_master_details",
        ("master", "get_plugin_status"): "_rpc_get_plugin_status",
        ("master", "save_master"): "_rpc_save_master",
        ("master", "update_plugin"): "_rpc_update_plugin",
        ("cmd", "get_master_cmd"): "_rpc_get_master_cmd",
    }

    def _dispatch(self, call, user):
        with self.lock:
            self.riq += 1
            riq = self.riq
        if not isinstance(call, dict):
            return {"riq": riq, "ret": None, "error": {"code": 400, "message": "bad call"}}
        resource, method = call.get("resource"), call.get("method")
        args = call.get("arg", call.get("args")) or []
        kwargs = call.get("kwarg", call.get("kwargs")) or {}
        with self.lock:
            self.calls.append(
                {"resource": resource, "method": method, "args": args, "kwargs": kwargs,
                 "user": user}
            )
        name = self._METHODS.get((resource, method))
        if name is None:
            error = {"code": 404, "message": f"unknown method {resource}.{method}", "detail": None}
            return {"riq": riq, "ret": None, "error": error, "warnings": []}
        try:
            ret = getattr(self, name)(*args, **kwargs)
        except (TypeError, ValueError) as err:
            error = {"code": 400, "message": str(err), "detail": f"{resource}.{method}"}
            return {"riq": riq, "ret": None, "error": error, "warnings": []}
        return {"riq": riq, "ret": ret, "error": None, "warnings": []}

    # -- HTTP ---------------------------------------------------------------------------------

    def _handler_class(self):
        return make_handler(self)
