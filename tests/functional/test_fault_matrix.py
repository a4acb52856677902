"""
The fault matrix: every scenario drives the real code (Salt's loader, the RaaS double on
loopback, real files, real processes) and then checks the invariants:

1. every file in the plugin cache hashes to its manifest entry, no temporary file is left;
2. the master's Python imports the plugin, at the old or the new version, never neither;
3. status and history agree with what happened;
4. the error a user sees is one line;
5. no password, JWT or XSRF cookie appears in a return, a log line or an error.

``SCENARIOS`` is the matrix; ``docs/fault-matrix.md`` is generated from it
(``python -m tests.functional.test_fault_matrix > docs/fault-matrix.md``) and a test checks
that the two agree.
"""
import errno
import json
import logging
import os
import pathlib
import random
import signal
import subprocess
import sys
import time

import pytest
from salt.exceptions import CommandExecutionError
from salt.exceptions import SaltInvocationError

from tests.support.helpers import CURRENT_WHEEL
from tests.support.helpers import ROLLBACK_WHEEL
from tests.support.helpers import assert_cache_verified
from tests.support.helpers import imported_version
from tests.support.helpers import sha256_of
from tests.support.helpers import write_master_config

PASSWORD = "Pa55-w0rd-3xYz"
DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "fault-matrix.md"

SCENARIOS = [
    ("R1", "RaaS", "connection refused", "sync fails: cannot reach RaaS; status cannot_update_disconnected"),
    ("R2", "RaaS", "DNS failure", "sync fails: cannot reach RaaS"),
    ("R3", "RaaS", "slow answer (timeout)", "sync fails: did not answer within sseapi_timeout"),
    ("R4", "RaaS", "500/502/503 then success", "retried (reads only), sync succeeds"),
    ("R5", "RaaS", "500 forever", "bounded retries, then HTTP 500 named"),
    ("R6", "RaaS", "malformed JSON", "fails: answer is not JSON"),
    ("R7", "RaaS", "HTML instead of JSON", "fails: answer is not JSON"),
    ("R8", "RaaS", "JSON answer with error set", "fails with RaaS's code and message"),
    ("R9", "RaaS", "401 JWT expired mid-run", "logs in again once, sync succeeds"),
    ("R10", "RaaS", "401 bad password", "fails: Invalid credentials, password never shown"),
    ("R11", "RaaS", "403 missing XSRF", "fresh _xsrf once, sync succeeds"),
    ("R12", "RaaS", "RaaS-Instance-ID changed between calls", "authenticates again, sync succeeds"),
    ("R13", "RaaS", "TLS with an untrusted certificate", "refused; accepted with sseapi_ssl_validate_cert: False"),
    ("R14", "RaaS", "plugin list missing keys or with a bogus version", "refused, nothing fetched"),
    ("D1", "Download", "truncated body", "refused, cache as it was"),
    ("D2", "Download", "connection dropped mid-stream", "refused, cache as it was; next sync completes"),
    ("D3", "Download", "one corrupted byte", "sha256 mismatch, cache as it was"),
    ("D4", "Download", "advertised sha256 wrong", "sha256 mismatch, cache as it was"),
    ("D5", "Download", "body larger than the cap", "abandoned at max_download_size"),
    ("D6", "Download", "filename with /, .., NUL or another project's name", "refused before any download"),
    ("D7", "Download", "a wheel that is not a zip", "update fails, old plugin kept and importable"),
    ("K1", "Disk", "cache folder not writable", "fails naming the folder"),
    ("K2", "Disk", "disk full during download", "fails naming the space problem, no partial file"),
    ("K3", "Disk", "stale temporary file from a crashed run", "removed by the next sync"),
    ("K4", "Disk", "cached file modified after download", "not used, fetched again"),
    ("P1", "Process", "sync killed (SIGKILL) at random points, many times", "a normal run recovers a verified cache"),
    ("P2", "Process", "update killed (SIGKILL) at random points, many times", "a normal run recovers, plugin importable"),
    ("P3", "Process", "two updates at once on one master", "the second fails at once, naming the first"),
    ("P4", "Process", "pip failing mid-install", "upgrade_failed, old plugin kept"),
    ("P5", "Process", "salt-master not coming back after restart", "rolled back, upgrade_failed"),
    ("P6", "Process", "no init manager", "restarting (restart by hand), not success"),
    ("I1", "Input", "wrong types, unknown options, empty strings, bad batch sizes", "SaltInvocationError naming the argument, before any I/O"),
    ("I2", "Input", "a tgt matching nothing", "SaltInvocationError naming tgt"),
    ("S1", "Security", "defaults", "TLS verified, cache 0700, files not world-writable, downgrades refused, no shell strings, no credentials in URLs"),
]


def markdown():
    lines = [
        "# Fault matrix",
        "",
        "Generated from `tests/functional/test_fault_matrix.py` (`SCENARIOS`); every row is a test",
        "that also checks the invariants: verified cache, an importable plugin, status and history",
        "in agreement, a one-line error, no secret anywhere.",
        "",
        "| id | area | scenario | expected outcome |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {i} | {a} | {s} | {e} |" for i, a, s, e in SCENARIOS]
    return "\n".join(lines) + "\n"


def test_the_documented_matrix_is_the_tested_one():
    assert DOC.read_text(encoding="utf-8") == markdown()
    ids = {s[0] for s in SCENARIOS}
    tested = {name.split("_")[1].upper() for name in globals() if name.startswith("test_")}
    assert ids <= tested, f"scenarios without a test: {ids - tested}"


# -- the world every scenario runs in ---------------------------------------------------------


class World:
    def __init__(self, modules_with, raas, master_host, python, caplog, tmp_path):
        self.modules_with = modules_with
        self.raas = raas
        self.host = master_host
        self.python = python
        self.caplog = caplog
        self.tmp_path = tmp_path
        self.returns = []
        self.errors = []
        self.modules = self.configure()

    def configure(self, **options):
        options.setdefault("python", self.python)
        options.setdefault("restart", "none")
        self.modules = self.modules_with(**options)
        return self.modules

    def call(self, fun, *args, **kwargs):
        ret = getattr(self.modules.master_plugin, fun)(*args, **kwargs)
        self.returns.append(ret)
        return ret

    def fails(self, fun, *args, match=None, exc=CommandExecutionError, **kwargs):
        with pytest.raises(exc) as err:
            self.call(fun, *args, **kwargs)
        text = str(err.value)
        self.errors.append(text)
        assert "\n" not in text.strip(), f"not one line: {text!r}"  # invariant 4
        if match:
            assert match in text, text
        return text

    def check(self, versions=("8.16.0.24", "8.18.3.6"), status=True):
        assert_cache_verified(self.host["cache_dir"])  # 1
        assert imported_version(self.python) in versions  # 2
        if status:  # 3
            current = self.modules.master_plugin.status()
            history = os.path.join(self.host["cache_dir"], "history.jsonl")
            if os.path.exists(history):
                with open(history, encoding="utf-8") as fh:
                    last = [json.loads(line) for line in fh if line.strip()][-1]
                assert current["last_update_jid"] == last["jid"]
                if last["result"]:
                    assert current["installed_version"] == last["to"]
                elif last["plugin_status"] == "upgrade_failed":
                    assert current["installed_version"] == last["from"]
            assert current["installed_version"] == imported_version(self.python)
        secrets = [PASSWORD, *self.raas.issued, *self.raas.xsrf_tokens]  # 5
        seen = self.caplog.text + repr(self.returns) + " ".join(self.errors)
        for secret in secrets:
            assert secret not in seen, "a secret leaked"


@pytest.fixture
def world(modules_with, raas, tmp_path, master_python, caplog):
    caplog.set_level(logging.DEBUG)
    raas.users = {"root": PASSWORD}
    config, cachedir = write_master_config(tmp_path / "host", raas.url, sseapi_password=PASSWORD)
    host = {"config": config, "cachedir": cachedir,
            "cache_dir": os.path.join(cachedir, "plugin_cache")}
    configure = lambda **o: modules_with(**dict({"master_config": config}, **o))  # noqa: E731
    return World(configure, raas, host, master_python, caplog, tmp_path)


def rewrite_raas_conf(world, **changes):
    path = os.path.join(os.path.dirname(world.host["config"]), "master.d", "raas.conf")
    import yaml  # pylint: disable=import-outside-toplevel

    with open(path, encoding="utf-8") as fh:
        conf = yaml.safe_load(fh)
    conf.update(changes)
    with open(path, "w", encoding="utf-8") as fh:
        yaml.safe_dump(conf, fh)


# -- RaaS ---------------------------------------------------------------------------------------


def test_r1_connection_refused(world):
    rewrite_raas_conf(world, sseapi_server="http://127.0.0.1:9")
    world.fails("sync", match="cannot reach RaaS at http://127.0.0.1:9")
    assert world.modules.master_plugin.status()["plugin_status"] == "cannot_update_disconnected"
    world.check()


def test_r2_dns_failure(world):
    rewrite_raas_conf(world, sseapi_server="http://raas.invalid")
    world.fails("sync", match="cannot reach RaaS at http://raas.invalid")
    world.check()


def test_r3_slow_answer(world):
    rewrite_raas_conf(world, sseapi_timeout=0.5)
    world.raas.delay(3, "/account/login")
    world.fails("sync", match="did not answer")
    world.raas.delay(0, "/account/login")
    world.check()


def test_r4_server_errors_then_success(world):
    world.raas.fail_next(1, 500, "/rpc")
    world.raas.fail_next(1, 502, "/static/")
    world.raas.fail_next(1, 503, "/account/login")
    assert world.call("sync")["fetched"]
    world.check()


def test_r5_server_error_forever(world):
    world.raas.fail_next(100, 500, "/rpc")
    world.fails("sync", match="answered HTTP 500 to POST /rpc")
    assert [s for _, p, s in world.raas.requests if p == "/rpc"] == [500] * 4
    world.raas.fail_next(0)
    world.check(status=False)


@pytest.mark.parametrize("body", ['{"riq": 1, "ret": ', "<html><body>Bad Gateway</body></html>"])
def test_r6_malformed_json(world, body):
    world.raas.answer_raw_next(body, path_prefix="/rpc", content_type="application/json")
    world.fails("sync", match="not JSON")
    world.check()


def test_r7_html_instead_of_json(world):
    world.raas.answer_raw_next("<html>login page</html>", path_prefix="/account/login",
                               content_type="text/html", count=2)
    world.fails("sync", match="answered the login without a JWT")
    world.check()


def test_r8_error_in_answer(world):
    world.raas.offer_raw("current", {"filename": 5})
    world.fails("sync", match="plugin filename 5 is not a file name")
    world.raas.answer_raw_next(
        json.dumps({"riq": 1, "ret": None, "error": {"code": 503, "message": "db down", "detail": "x"}}),
        path_prefix="/rpc", content_type="application/json",
    )
    world.fails("sync", match="master.get_plugin_versions failed: [503] db down")
    world.check()


def test_r9_jwt_expired_mid_run(world):
    world.raas.expire_jwts_before("/static/")
    assert len(world.call("sync")["fetched"]) == 2
    assert len(world.raas.issued) == 2
    world.check()


def test_r10_bad_password(world):
    world.raas.users = {"root": "something-else"}
    world.fails("sync", match="Invalid credentials")
    world.check()


def test_r11_xsrf_missing(world):
    world.raas.forget_xsrf_before("/rpc")
    assert world.call("sync")["fetched"]
    assert ("POST", "/rpc", 403) in world.raas.requests
    world.check()


def test_r12_instance_changed(world):
    world.call("versions")
    world.raas.change_instance()
    assert world.call("sync")["fetched"]
    world.check()


def test_r13_untrusted_tls(world, wheels, tmp_path):
    from saltext_masterplugin.testing.raas_double import RaasDouble  # pylint: disable=import-outside-toplevel
    from saltext_masterplugin.testing.tls import self_signed  # pylint: disable=import-outside-toplevel

    cert = self_signed(tmp_path)
    with RaasDouble(users={"root": PASSWORD}, tls_cert=cert) as tls_raas:
        tls_raas.add_plugin("current", wheels["current"])
        world.raas = tls_raas
        assert tls_raas.url.startswith("https://")
        rewrite_raas_conf(world, sseapi_server=tls_raas.url, sseapi_ssl_validate_cert=True)
        world.fails("sync", match="TLS verification of https://127.0.0.1")
        assert tls_raas.calls == []
        rewrite_raas_conf(world, sseapi_ssl_ca=cert[0])
        assert world.call("sync")["fetched"] == [CURRENT_WHEEL]
        rewrite_raas_conf(world, sseapi_ssl_ca=None, sseapi_ssl_validate_cert=False)
        assert world.call("sync")["cached"] == [CURRENT_WHEEL]
        world.check(status=False)


@pytest.mark.parametrize(
    "entry, words",
    [
        ({"filename": "SSEAPE-8.18.3.6-py3-none-any.whl", "git_describe": "v8.18.3.6"}, "no valid sha256"),
        ({"filename": "SSEAPE-notaversion-py3-none-any.whl", "sha256": "a" * 64}, "refusing plugin filename"),
        ({"sha256": "a" * 64}, "is not a file name"),
    ],
)
def test_r14_bad_plugin_list(world, entry, words):
    world.raas.offer_raw("current", entry)
    world.fails("sync", match=words)
    assert world.raas.downloads() == []
    world.check()


# -- Download -----------------------------------------------------------------------------------


def test_d1_truncated(world):
    world.raas.truncate_next_download()
    world.fails("sync", match="the cached copy was not replaced")
    world.check()


def test_d2_dropped_mid_stream(world):
    world.raas.throttle_downloads(20000)
    world.raas.truncate_next_download()
    world.fails("sync", match=CURRENT_WHEEL)
    world.raas.throttle_downloads(0)
    assert world.call("sync")["fetched"] == [CURRENT_WHEEL]
    world.check()


def test_d3_corrupted_byte(world):
    world.raas.corrupt_next_download()
    world.fails("sync", match=f"sha256 mismatch for {CURRENT_WHEEL}")
    world.check()


def test_d4_wrong_advertised_sha256(world):
    world.raas.advertise_sha256("rollback", "f" * 64)
    world.fails("sync", match=f"sha256 mismatch for {ROLLBACK_WHEEL}: expected ffffffff")
    world.check()


def test_d5_body_over_the_cap(world):
    world.configure(max_download_size=1000)
    world.fails("sync", match="over the limit of 1000 (master_plugin:max_download_size)")
    world.check()


@pytest.mark.parametrize(
    "filename",
    ["sub/SSEAPE-8.18.3.6-py3-none-any.whl", "../SSEAPE-8.18.3.6-py3-none-any.whl",
     "SSEAPE-8.18.3.6-py3-none-any.whl\x00.txt", "requests-8.18.3.6-py3-none-any.whl"],
)
def test_d6_bad_filenames(world, filename):
    world.raas.offer_raw("current", {"filename": filename, "sha256": "a" * 64})
    world.fails("sync", match="refusing plugin filename")
    assert world.raas.downloads() == []
    world.check()


def test_d7_wheel_not_a_zip(world, tmp_path):
    fake = tmp_path / "fake" / CURRENT_WHEEL
    fake.parent.mkdir()
    fake.write_bytes(b"this is not a zip file" * 100)
    world.raas.add_plugin("current", str(fake), git_describe="v8.18.3.6")
    ret = world.call("update")
    assert ret["result"] is False and ret["plugin_status"] == "upgrade_failed"
    assert imported_version(world.python) == "8.16.0.24"
    world.check()


# -- Disk ---------------------------------------------------------------------------------------


def test_k1_cache_not_writable(world, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    world.configure(cache_dir=str(blocker / "plugin_cache"))
    world.fails("sync", match=f"cannot create the plugin cache {blocker}/plugin_cache")
    world.check(status=False)


def test_k2_disk_full(world, monkeypatch):
    import saltext_masterplugin.core.plugin_cache as cache_mod  # pylint: disable=import-outside-toplevel

    real_fdopen = os.fdopen

    class Full:
        def __init__(self, fh):
            self.fh = fh

        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __getattr__(self, name):
            return getattr(self.fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    monkeypatch.setattr(cache_mod.os, "fdopen", lambda *a, **k: Full(real_fdopen(*a, **k)))
    text = world.fails("sync", match="No space left on device")
    assert "free space" in text
    monkeypatch.undo()
    world.check()


def test_k3_stale_temporary_file(world):
    os.makedirs(world.host["cache_dir"], exist_ok=True)
    stale = os.path.join(world.host["cache_dir"], ".partial-crashed.whl")
    with open(stale, "wb") as fh:
        fh.write(b"half a wheel")
    world.call("sync")
    assert not os.path.exists(stale)
    world.check()


def test_k4_cached_file_modified(world):
    world.call("sync")
    with open(os.path.join(world.host["cache_dir"], ROLLBACK_WHEEL), "r+b") as fh:
        fh.write(b"PK\x00\x00")
    assert world.call("sync")["repaired"] == [ROLLBACK_WHEEL]
    world.check()


# -- Process ------------------------------------------------------------------------------------

RUNNER = """
import sys
from saltext_masterplugin.core.api import MasterHost, load_master_opts
from saltext_masterplugin.core.update import Update
host = MasterHost(load_master_opts(sys.argv[1]), {"python": sys.argv[2], "restart": "none"})
if sys.argv[3] == "sync":
    host.sync()
else:
    Update(host, "2026120300000000000" + sys.argv[4]).run(None)
"""


def kill_at_random(world, what, rounds, max_delay):
    rng = random.Random(20261203)
    for index in range(rounds):
        proc = subprocess.Popen(
            [sys.executable, "-c", RUNNER, world.host["config"], world.python, what, str(index % 10)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        time.sleep(rng.uniform(0.05, max_delay))
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        # Whatever the moment, every wheel the manifest lists has exactly the listed bytes,
        # and the plugin imports at the old or the new version, or the next run reinstalls it.
        cache = pathlib.Path(world.host["cache_dir"])
        if (cache / "manifest.json").exists():
            manifest = json.loads((cache / "manifest.json").read_text())["wheels"]
            for name, entry in manifest.items():
                if (cache / name).exists():
                    assert sha256_of(cache / name) == entry["sha256"], name


def test_p1_sync_killed_many_times(world):
    world.raas.throttle_downloads(50000)
    kill_at_random(world, "sync", rounds=8, max_delay=1.0)
    world.raas.throttle_downloads(0)
    assert len(world.call("sync")["fetched"]) + len(world.returns[-1]["cached"]) == 2
    world.check()


def test_p2_update_killed_many_times(world):
    kill_at_random(world, "update", rounds=8, max_delay=2.5)
    ret = world.call("update")
    assert ret["plugin_status"] in ("restarting", "up_to_date"), ret
    assert imported_version(world.python) == "8.18.3.6"
    world.check(versions=("8.18.3.6",))


def test_p3_two_updates_at_once(world):
    from saltext_masterplugin.core.locking import FileLock  # pylint: disable=import-outside-toplevel

    os.makedirs(world.host["cache_dir"], exist_ok=True)
    with FileLock(os.path.join(world.host["cache_dir"], "update.lock"),
                  purpose="master_plugin.update jid 20261203000000000009"):
        world.fails("update", match="locked by pid")
    world.check()


def test_p4_pip_fails_mid_install(world, wheels):
    world.raas.add_plugin("current", wheels["broken"])
    ret = world.call("update")
    assert ret["plugin_status"] == "upgrade_failed"
    world.check(versions=("8.16.0.24",))


def test_p5_master_does_not_come_back(world):
    world.configure(restart="command", restart_command=["true"], restart_timeout=1)
    ret = world.call("update")
    assert ret["plugin_status"] == "upgrade_failed" and ret["restart"]["failed"]
    world.check(versions=("8.16.0.24",))


def test_p6_no_init_manager(world):
    world.configure(restart="service")
    ret = world.call("update")
    assert ret["result"] is False and ret["plugin_status"] == "restarting"
    assert "restart salt-master by hand" in ret["restart"]["message"]
    world.check(versions=("8.18.3.6",))


# -- Input --------------------------------------------------------------------------------------

BAD_CALLS = [
    ("sync", {"version": 8.2}, "version="),
    ("sync", {"version": ["8.18.3.6"]}, "version="),
    ("sync", {"version": ""}, "version="),
    ("update", {"version": 8.2}, "version="),
    ("update", {"allow_downgrade": "yes"}, "allow_downgrade"),
    ("update", {"restart": "reboot"}, "restart"),
    ("update", {"colour": "blue"}, "unexpected argument(s): colour"),
    ("install", {"version": 8}, "version="),
    ("install", {"allow_downgrade": 1}, "allow_downgrade"),
    ("rollback", {"restart": ""}, "restart"),
    ("download", {"dest": ""}, "dest"),
    ("download", {"dest": ["/tmp"]}, "dest"),
    ("download", {"dest": "/tmp", "version": 8.2}, "version="),
]


@pytest.mark.parametrize("fun, kwargs, words", BAD_CALLS)
def test_i1_bad_input_execution_module(world, fun, kwargs, words):
    world.fails(fun, exc=SaltInvocationError, match=words, **kwargs)
    assert world.raas.requests == []


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"version": 8.2}, "version="),
        ({"batch": "150%"}, "batch"),
        ({"batch": -1}, "batch"),
        ({"max_failures": "x"}, "max_failures"),
        ({"canary": -1}, "canary"),
        ({"canary": "1"}, "canary"),
        ({"health_timeout": 0}, "health_timeout"),
        ({"rollback": "no"}, "rollback"),
        ({"test": "yes"}, "test"),
    ],
)
def test_i1_bad_input_runner(kwargs, words):
    from saltext_masterplugin.runners import master_plugin as runner  # pylint: disable=import-outside-toplevel

    with pytest.raises(SaltInvocationError, match=words):
        runner.update(tgt="*", **kwargs)


def test_i1_bad_input_state(world, loaders):
    for kwargs, words in (({"version": 8.2}, "Quote the version"),
                          ({"allow_downgrade": "yes"}, "allow_downgrade")):
        ret = loaders.states.master_plugin.updated(name="SSEAPE", **kwargs)
        assert ret.result is False and words in ret.comment
    assert world.raas.requests == []


def test_i2_tgt_matching_nothing():
    from saltext_masterplugin.core import fleet  # pylint: disable=import-outside-toplevel

    class NoMinions:
        def expected(self, tgt, tgt_type):
            return []

        def publish(self, *args):
            raise AssertionError("nothing may be published")

    with pytest.raises(SaltInvocationError, match=r"tgt='nomatch\*' \(tgt_type=glob\) matches no minion"):
        fleet.fleet_status(NoMinions(), "nomatch*", "glob", 5)


# -- Security defaults ------------------------------------------------------------------------


def test_s1_security_defaults(world):
    from saltext_masterplugin.core.settings import raas_settings  # pylint: disable=import-outside-toplevel

    assert raas_settings({"sseapi_server": "https://r"}).verify is True
    world.call("sync")
    cache = pathlib.Path(world.host["cache_dir"])
    assert oct(cache.stat().st_mode & 0o777) == "0o700"
    for path in cache.iterdir():
        assert not path.stat().st_mode & 0o002, path
    world.call("install")
    world.fails("install", version="8.16.0.24", match="refusing to downgrade")
    source = pathlib.Path(__file__).resolve().parents[2] / "saltext_masterplugin"
    for path in source.rglob("*.py"):
        text = path.read_text()
        for bad in ("shell=True", "python_shell=True", "os.system(", "os.popen("):
            assert bad not in text, f"{bad} in {path}"
    rewrite_raas_conf(world, sseapi_server=world.raas.url.replace("http://", "http://admin:hunter2@"))
    world.call("sync")
    versions = world.call("versions")
    assert "hunter2" not in world.caplog.text + repr(versions)
    assert "***@" in world.caplog.text
    world.check()


if __name__ == "__main__":
    sys.stdout.write(markdown())
