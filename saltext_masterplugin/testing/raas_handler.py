"""The RaaS double's HTTP handler: the protocol on the wire (see ``raas_double``)."""
import http.cookies
import http.server
import json
import secrets
import time
import urllib.parse

DOWNLOAD_PREFIX = "/static/master_plugins/"


def make_handler(double):
    """A request handler class bound to ``double`` (a :class:`RaasDouble`)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def _cookies(self):
            jar = http.cookies.SimpleCookie()
            try:
                jar.load(self.headers.get("Cookie", ""))
            except http.cookies.CookieError:
                pass
            return {k: m.value for k, m in jar.items()}

        def _send(self, status, body=b"", headers=None, content_type="application/json"):
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
            with double.lock:
                double.requests.append((self.command, self.path, status))
                instance = double.instance_id
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("RaaS-Instance-ID", instance)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def _faulted(self):
            delay, drop, fail = double._take_fault(self.path)
            if delay:
                time.sleep(delay)
            if drop:
                with double.lock:
                    double.requests.append((self.command, self.path, "dropped"))
                self.close_connection = True
                return True
            if isinstance(fail, list):  # a raw answer
                status, body, content_type = fail
                self._send(status, body.encode() if isinstance(body, str) else body,
                           content_type=content_type)
                return True
            if fail:
                self._send(fail, {"errors": [{"title": "Server error", "message": "fault"}]})
                return True
            return False

        def _body(self):
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _xsrf_ok(self):
            if not double.xsrf:
                return True
            header = self.headers.get("X-Xsrftoken")
            cookie = self._cookies().get("_xsrf")
            with double.lock:
                return bool(header) and header == cookie and header in double.xsrf_tokens

        def _xsrf_refused(self):
            self._send(
                403,
                {"errors": [{"title": "Forbidden", "message": "'_xsrf' argument missing"}]},
                headers={"X-XSRFToken-Missing": "1"},
            )

        def _user(self):
            auth = self.headers.get("Authorization", "")
            if not auth.startswith("JWT "):
                return None
            with double.lock:
                if double.reject_all_jwts:
                    return None
                return double.jwts.get(auth[4:])

        def _unauthorized(self):
            self._send(
                401,
                {"errors": [{"title": "Unauthorized", "message": "JWT not authorized",
                             "detail": None}]},
            )

        def do_GET(self):  # noqa: N802
            if self._faulted():
                return
            path = urllib.parse.urlsplit(self.path).path
            if path == "/account/login":
                headers = {}
                if double.xsrf:
                    token = secrets.token_hex(16)
                    with double.lock:
                        double.xsrf_tokens.add(token)
                    headers["Set-Cookie"] = f"_xsrf={token}; Path=/"
                self._send(200, {"xsrf": double.xsrf}, headers=headers)
            elif path.startswith(DOWNLOAD_PREFIX):
                self._download(urllib.parse.unquote(path[len(DOWNLOAD_PREFIX):]))
            else:
                self._send(404, {"errors": [{"title": "Not found"}]})

        def _download(self, filename):
            if self._user() is None:
                self._unauthorized()
                return
            with double.lock:
                data = next(
                    (p["data"] for p in double.plugins.values()
                     if p["filename"] == filename and p["data"] is not None),
                    None,
                )
                truncate = double.faults.truncate > 0
                corrupt = double.faults.corrupt > 0 and not truncate
                if data is not None and truncate:
                    double.faults.truncate -= 1
                if data is not None and corrupt:
                    double.faults.corrupt -= 1
            if data is None:
                self._send(404, {"errors": [{"title": "Not found"}]})
                return
            if corrupt:
                middle = len(data) // 2
                data = data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:]
            if truncate:
                with double.lock:
                    double.requests.append((self.command, self.path, "truncated"))
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("RaaS-Instance-ID", double.instance_id)
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            if double.faults.throttle:
                self._send_throttled(data, double.faults.throttle)
                return
            self._send(200, data, content_type="application/octet-stream")

        def _send_throttled(self, data, rate):
            with double.lock:
                double.requests.append((self.command, self.path, 200))
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("RaaS-Instance-ID", double.instance_id)
            self.end_headers()
            chunk = max(1, rate // 20)
            try:
                for start in range(0, len(data), chunk):
                    self.wfile.write(data[start : start + chunk])
                    self.wfile.flush()
                    time.sleep(0.05)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def do_POST(self):  # noqa: N802
            body = self._body()
            if self._faulted():
                return
            path = urllib.parse.urlsplit(self.path).path
            if path not in ("/account/login", "/rpc"):
                self._send(404, {"errors": [{"title": "Not found"}]})
                return
            if not self._xsrf_ok():
                self._xsrf_refused()
                return
            try:
                payload = json.loads(body or b"null")
            except ValueError:
                self._send(400, {"errors": [{"title": "Bad request", "message": "not JSON"}]})
                return
            if path == "/account/login":
                self._login(payload)
            else:
                self._rpc(payload)

        def _login(self, payload):
            payload = payload if isinstance(payload, dict) else {}
            username, password = payload.get("username"), payload.get("password")
            if username not in double.users or double.users[username] != password:
                self._send(
                    401,
                    {"errors": [{"title": "Invalid credentials",
                                 "message": "Invalid username or password",
                                 "detail": None}]},
                )
                return
            token = double.issue_jwt(username)
            self._send(200, {"attributes": {"username": username}, "jwt": token})

        def _rpc(self, payload):
            user = self._user()
            if user is None:
                self._unauthorized()
                return
            if isinstance(payload, list):
                answers = [double._dispatch(call, user) for call in payload]
                failed = sum(1 for a in answers if a["error"])
                self._send(200, {"batched_retcode": 1 if failed else 0, "ret": answers})
            else:
                self._send(200, double._dispatch(payload, user))

    return Handler
