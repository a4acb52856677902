"""
A small client for RaaS, the SaltStack Config server.

It speaks the protocol the master plugin itself uses:

* ``GET /account/login`` sets an ``_xsrf`` cookie (no cookie: XSRF is off on that server);
* ``POST /account/login`` trades the ``sseapi_*`` credentials for a JWT (or, with no password
  configured, the JWT the plugin keeps at ``<cachedir>/auth_token.jwt`` is used);
* ``POST /rpc`` with ``X-Xsrftoken`` and ``Authorization: JWT <jwt>`` answers
  ``{"riq", "ret", "error", "warnings"}``.

Recovery is bounded: one new login on "JWT not authorized", one fresh ``_xsrf`` on a 403 with
``X-XSRFToken-Missing``, new credentials when ``RaaS-Instance-ID`` changes (RaaS restarted), and
urllib3's ``Retry`` for server errors on idempotent requests only.  Passwords, JWTs and cookies
never reach a log line, an exception or returned data.
"""
import json
import logging
import re
import urllib.parse

import requests
import requests.adapters
from urllib3.exceptions import ConnectTimeoutError
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from saltext_masterplugin.core.errors import RaasAuthError
from saltext_masterplugin.core.errors import RaasConnectionError
from saltext_masterplugin.core.errors import RaasError
from saltext_masterplugin.core.errors import RaasProtocolError
from saltext_masterplugin.core.errors import RaasRpcError

log = logging.getLogger(__name__)

# A RaaS on the site network accepts a TCP connection within milliseconds; 10 s tolerates a
# loaded server or a slow TLS handshake without letting a Salt job hang on a dead address.
CONNECT_TIMEOUT = 10
# Server errors (502/503/504 from a proxy while RaaS restarts, a 500 under load) are retried
# this many times, for idempotent requests only.  With the backoff below the waits are
# 0, 1 and 2 s: long enough to ride out a proxy hiccup, short enough for an interactive call.
RETRIES = 3
RETRY_BACKOFF = 0.5
RETRY_STATUSES = (500, 502, 503, 504)
# RPC methods that only read, and may therefore be sent again after a server error.
READ_ONLY_PREFIXES = ("get_", "list_")
# How much of an unexpected answer to quote in an error message.
QUOTE_LIMIT = 200

JWT_RE = re.compile(r"^[A-Za-z0-9._~+/=-]+$")
XSRF_COOKIE = "_xsrf"
XSRF_HEADER = "X-Xsrftoken"
XSRF_MISSING_HEADER = "X-XSRFToken-Missing"
INSTANCE_HEADER = "RaaS-Instance-ID"
JWT_NOT_AUTHORIZED = "JWT not authorized"
INVALID_CREDENTIALS = "Invalid credentials"


def _session(idempotent_methods):
    retry = Retry(
        total=RETRIES,
        connect=RETRIES,
        read=RETRIES,
        status=RETRIES,
        backoff_factor=RETRY_BACKOFF,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset(idempotent_methods),
        raise_on_status=False,
        respect_retry_after_header=True,
    )
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _timed_out(err):
    """True when ``err`` (maybe after urllib3's retries) is a read or connect timeout."""
    if isinstance(err, requests.exceptions.Timeout):
        return True
    reason = getattr(err.args[0], "reason", None) if err.args else None
    if isinstance(reason, NewConnectionError):  # (a subclass of ConnectTimeoutError)
        return False
    return isinstance(reason, (ReadTimeoutError, ConnectTimeoutError))


def _quote(resp):
    text = resp.text if resp.content else ""
    return text[:QUOTE_LIMIT].strip()


def _errors_of(resp):
    """The ``errors`` list of a RaaS 401/403 answer, or an empty list."""
    try:
        body = resp.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    return [e for e in errors or [] if isinstance(e, dict)]


def read_jwt_file(path):
    """
    Read the JWT the master plugin keeps for key authentication.

    Returns ``None`` when the file does not exist.  Accepts the bare token or a JSON object with
    a ``jwt`` (or ``token``) member.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read().strip()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise RaasAuthError(f"cannot read the plugin's JWT file {path}: {err.strerror}") from err
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as err:
            raise RaasAuthError(f"the plugin's JWT file {path} is not valid JSON") from err
        text = str(data.get("jwt") or data.get("token") or "")
    if text and not JWT_RE.match(text):
        raise RaasAuthError(f"the plugin's JWT file {path} does not hold a well-formed token")
    return text or None


class RaasClient:
    """
    One authenticated conversation with RaaS.

    :param settings: a :class:`~saltext_masterplugin.core.settings.RaasSettings`.
    """

    def __init__(self, settings):
        self.settings = settings
        # Two sessions over one cookie jar: only the first may resend a POST after a 5xx.
        self._idempotent = _session(("GET", "HEAD", "POST"))
        self._once = _session(("GET", "HEAD"))
        self._once.cookies = self._idempotent.cookies
        self._jwt = None
        self._xsrf = None
        self._xsrf_known = False
        self._instance_id = None
        self.logins = 0

    # -- plumbing ---------------------------------------------------------------------------

    def close(self):
        self._idempotent.close()
        self._once.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def url(self, path):
        return self.settings.server + path

    def _raw(self, method, path_or_url, idempotent, headers=None, **kwargs):
        url = path_or_url if "://" in path_or_url else self.url(path_or_url)
        session = self._idempotent if idempotent else self._once
        try:
            resp = session.request(
                method,
                url,
                headers=headers or {},
                timeout=(CONNECT_TIMEOUT, self.settings.timeout),
                verify=self.settings.verify,
                cert=self.settings.client_cert,
                **kwargs,
            )
        except requests.exceptions.SSLError as err:
            raise RaasConnectionError(
                f"TLS verification of {self.settings.server} failed; install the server's CA "
                "(sseapi_ssl_ca) or, on a lab system only, set sseapi_ssl_validate_cert: False"
            ) from err
        except requests.exceptions.RequestException as err:
            if not _timed_out(err):
                raise RaasConnectionError(
                    f"cannot reach RaaS at {self.settings.server}: {type(err).__name__} on "
                    f"{method} {urllib.parse.urlsplit(url).path}"
                ) from err
            raise RaasConnectionError(
                f"RaaS at {self.settings.server} did not answer {method} "
                f"{urllib.parse.urlsplit(url).path} within {self.settings.timeout} s "
                "(sseapi_timeout)"
            ) from err
        log.debug("RaaS %s %s -> %s", method, urllib.parse.urlsplit(url).path, resp.status_code)
        self._note_instance(resp)
        return resp

    def _note_instance(self, resp):
        instance = resp.headers.get(INSTANCE_HEADER)
        if not instance:
            return
        if self._instance_id is not None and instance != self._instance_id:
            log.info("RaaS restarted (new instance id); authenticating again")
            self._jwt = None
            self._xsrf = None
            self._xsrf_known = False
        self._instance_id = instance

    def _fetch_xsrf(self):
        self._once.cookies.clear()
        resp = self._raw("GET", "/account/login", idempotent=True)
        if resp.status_code >= 400:
            raise RaasConnectionError(
                f"RaaS at {self.settings.server} answered HTTP {resp.status_code} to "
                "GET /account/login"
            )
        self._xsrf = resp.cookies.get(XSRF_COOKIE) or self._once.cookies.get(XSRF_COOKIE)
        self._xsrf_known = True
        log.debug("RaaS XSRF protection is %s", "on" if self._xsrf else "off")

    def _xsrf_headers(self):
        if not self._xsrf_known:
            self._fetch_xsrf()
        return {XSRF_HEADER: self._xsrf} if self._xsrf else {}

    def login(self):
        """Obtain a JWT: by password when one is configured, else from the plugin's JWT file."""
        settings = self.settings
        self.logins += 1
        if not settings.password:
            jwt = read_jwt_file(settings.jwt_file)
            if not jwt:
                raise RaasAuthError(
                    "no sseapi_password is configured and the plugin's key-authentication "
                    f"token {settings.jwt_file} does not exist; configure sseapi_username and "
                    "sseapi_password, or start the salt-master with the plugin once so it "
                    "writes the token"
                )
            self._jwt = jwt
            return
        body = {
            "username": settings.username,
            "password": settings.password,
            "config_name": settings.config_name,
            "token_type": "jwt",
        }
        for attempt in range(2):
            resp = self._raw(
                "POST", "/account/login", idempotent=True, headers=self._xsrf_headers(), json=body
            )
            if resp.status_code == 403 and XSRF_MISSING_HEADER in resp.headers and not attempt:
                self._fetch_xsrf()
                continue
            break
        if resp.status_code == 401:
            titles = [e.get("title") or e.get("message") for e in _errors_of(resp)]
            reason = "; ".join(t for t in titles if t) or "HTTP 401"
            raise RaasAuthError(
                f"RaaS at {settings.server} refused the credentials of sseapi_username "
                f"{settings.username!r} (config {settings.config_name!r}): {reason}"
            )
        if resp.status_code >= 400:
            raise RaasConnectionError(
                f"RaaS at {settings.server} answered HTTP {resp.status_code} to "
                f"POST /account/login: {_quote(resp)}"
            )
        try:
            jwt = resp.json()["jwt"]
        except (ValueError, KeyError, TypeError) as err:
            raise RaasProtocolError(
                f"RaaS at {settings.server} answered the login without a JWT"
            ) from err
        if not isinstance(jwt, str) or not jwt:
            raise RaasProtocolError(f"RaaS at {settings.server} answered the login with an empty JWT")
        self._jwt = jwt
        log.debug("Logged in to RaaS as %s", settings.username)

    def request(self, method, path_or_url, idempotent, extra_headers=None, **kwargs):
        """
        Send an authenticated request and return the ``requests`` response (status < 400).

        Re-authenticates once on "JWT not authorized", refreshes the XSRF token once on
        ``X-XSRFToken-Missing``; raises :class:`RaasAuthError` on refused credentials and
        :class:`RaasConnectionError` on any other failure.
        """
        relogged = False
        xsrf_refreshed = False
        while True:
            if self._jwt is None:
                self.login()
            headers = dict(extra_headers or {})
            headers.update(self._xsrf_headers())
            headers["Authorization"] = f"JWT {self._jwt}"
            resp = self._raw(method, path_or_url, idempotent, headers=headers, **kwargs)
            if resp.status_code == 401:
                errors = _errors_of(resp)
                messages = " ".join(f"{e.get('title', '')} {e.get('message', '')}" for e in errors)
                if INVALID_CREDENTIALS in messages:
                    raise RaasAuthError(f"RaaS at {self.settings.server}: {INVALID_CREDENTIALS}")
                if not relogged:
                    log.debug("RaaS did not accept the JWT; logging in again")
                    relogged = True
                    self._jwt = None
                    continue
                source = (
                    "sseapi_username/sseapi_password"
                    if self.settings.password
                    else f"the token in {self.settings.jwt_file}"
                )
                raise RaasAuthError(
                    f"RaaS at {self.settings.server} does not accept a fresh JWT obtained with "
                    f"{source}: {JWT_NOT_AUTHORIZED}"
                )
            if resp.status_code == 403 and XSRF_MISSING_HEADER in resp.headers:
                if not xsrf_refreshed:
                    xsrf_refreshed = True
                    self._fetch_xsrf()
                    continue
                raise RaasConnectionError(
                    f"RaaS at {self.settings.server} keeps refusing our XSRF token"
                )
            if resp.status_code >= 400:
                path = urllib.parse.urlsplit(resp.url).path if resp.url else path_or_url
                quote = "" if kwargs.get("stream") else f": {_quote(resp)}"
                resp.close()
                raise RaasConnectionError(
                    f"RaaS at {self.settings.server} answered HTTP {resp.status_code} to "
                    f"{method} {path}{quote}"
                )
            return resp

    # -- RPC ----------------------------------------------------------------------------------

    def rpc(self, resource, method, *args, **kwargs):
        """
        Call ``resource.method(*args, **kwargs)`` on RaaS and return its ``ret``.

        Raises :class:`RaasRpcError` when RaaS answers with an error object.
        """
        body = {"resource": resource, "method": method, "arg": list(args), "kwarg": kwargs}
        idempotent = method.startswith(READ_ONLY_PREFIXES)
        resp = self.request("POST", "/rpc", idempotent, json=body)
        try:
            answer = resp.json()
        except ValueError as err:
            raise RaasProtocolError(
                f"RaaS answered {resource}.{method} with something that is not JSON"
            ) from err
        if not isinstance(answer, dict) or "ret" not in answer and "error" not in answer:
            raise RaasProtocolError(f"RaaS answered {resource}.{method} without 'ret' or 'error'")
        error = answer.get("error")
        if error:
            if not isinstance(error, dict):
                error = {"message": str(error)}
            raise RaasRpcError(
                resource, method, error.get("code"), error.get("message"), error.get("detail")
            )
        for warning in answer.get("warnings") or []:
            log.warning("RaaS %s.%s: %s", resource, method, warning)
        return answer.get("ret")

    def get_plugin_versions(self):
        """The raw answer of ``master.get_plugin_versions()``."""
        ret = self.rpc("master", "get_plugin_versions")
        if not isinstance(ret, dict):
            raise RaasProtocolError(
                "RaaS answered master.get_plugin_versions with "
                f"{type(ret).__name__}, not a mapping"
            )
        return ret

    def open_download(self, url):
        """Start a streaming, authenticated GET of ``url``; the caller closes the response."""
        if not url.startswith(self.settings.server + "/"):
            raise RaasError(f"refusing to download {url}: it is not on {self.settings.server}")
        # identity: the bytes we hash and count are the bytes RaaS advertised.
        return self.request(
            "GET", url, idempotent=True, extra_headers={"Accept-Encoding": "identity"}, stream=True
        )
