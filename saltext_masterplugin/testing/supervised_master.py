"""
A real salt-master host for tests and the demo: a salt-master run by a real ``supervisord``, in
its own Python environment with a sample plugin installed, loading the plugin's engine.

* The master's Python is a virtualenv (no pip of its own) that sees Salt through a ``.pth`` file
  and has the plugin in its own site-packages, as a onedir master has it in ``extras-3.X``.
* The master loads ``sseape_probe`` from the installed plugin (``engines_dirs``); the engine
  writes the version that live process imported to ``running.json``, so ``running()`` tells
  what the real master runs, not what is on disk.
* ``master_plugin:`` in its configuration says ``restart: supervisord`` with this supervisor.
"""
import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time

import yaml

SALT_MASTER = "import salt.scripts; salt.scripts.salt_master()"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bin_path(name):
    """A script installed beside this interpreter (salt-master, supervisorctl, ...)."""
    return os.path.join(os.path.dirname(sys.executable), name)


class SupervisedMaster:
    """
    :param root: the host's sandbox folder (created).
    :param raas_url: the RaaS (double) its ``sseapi_server`` points at.
    :param wheel: the plugin wheel installed at start.
    """

    def __init__(
        self, root, raas_url, wheel, master_id="supervised_master", restart="supervisord",
        options=None,
    ):
        self.root = os.path.abspath(str(root))
        self.raas_url = raas_url
        self.wheel = wheel
        self.master_id = master_id
        self.restart = restart
        self.options = dict(options or {})
        self.python_root = os.path.join(self.root, "python")
        self.python = os.path.join(self.python_root, "bin", "python")
        self.conf_dir = os.path.join(self.root, "etc", "salt")
        self.config_file = os.path.join(self.conf_dir, "master")
        self.cachedir = os.path.join(self.root, "cache")
        self.pidfile = os.path.join(self.root, "run", "salt-master.pid")
        self.report_file = os.path.join(self.root, "running.json")
        self.supervisord_conf = os.path.join(self.root, "supervisord.conf")
        self._supervisord = None

    # -- building -----------------------------------------------------------------------------

    def site_packages(self):
        version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
        return os.path.join(self.python_root, "lib", version, "site-packages")

    def build(self):
        for sub in ("run", "logs", "pki", "etc/salt/master.d", "cache"):
            os.makedirs(os.path.join(self.root, sub), exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "venv", "--without-pip", self.python_root], check=True
        )
        salt_site = sysconfig.get_paths()["purelib"]
        with open(os.path.join(self.site_packages(), "salt-env.pth"), "w", encoding="utf-8") as fh:
            fh.write(f"import site; site.addsitedir({salt_site!r})\n")
        if self.wheel:
            subprocess.run(
                [sys.executable, "-m", "pip", "--python", self.python, "install", "--quiet",
                 "--no-index", "--no-deps", "--disable-pip-version-check", self.wheel],
                check=True,
            )
        config = {
            "id": self.master_id,
            "root_dir": self.root,
            "user": getpass.getuser(),
            "interface": "127.0.0.1",
            "publish_port": free_port(),
            "ret_port": free_port(),
            "cachedir": self.cachedir,
            "pidfile": self.pidfile,
            "sock_dir": os.path.join(self.root, "run", "master"),
            "pki_dir": os.path.join(self.root, "pki"),
            "log_file": os.path.join(self.root, "logs", "master.log"),
            "log_level_logfile": "info",
            "engines_dirs": [os.path.join(self.site_packages(), "sseape", "engines")],
            "engines": [{"sseape_probe": {"report_file": self.report_file}}],
            "master_plugin": {
                "python": self.python,
                "restart": self.restart,
                "supervisord_conf": self.supervisord_conf,
                "supervisorctl": bin_path("supervisorctl"),
                "restart_timeout": 60,
                "require_root": os.geteuid() == 0,
                **self.options,
            },
        }
        raas = {
            "sseapi_server": self.raas_url,
            "sseapi_username": "root",
            "sseapi_password": "salt",
            "sseapi_ssl_validate_cert": False,
            "sseapi_timeout": 30,
        }
        with open(self.config_file, "w", encoding="utf-8") as fh:
            yaml.safe_dump(config, fh)
        with open(os.path.join(self.conf_dir, "master.d", "raas.conf"), "w", encoding="utf-8") as fh:
            yaml.safe_dump(raas, fh)
        sock = os.path.join(self.root, "run", "supervisor.sock")
        with open(self.supervisord_conf, "w", encoding="utf-8") as fh:
            fh.write(
                f"""[unix_http_server]
file={sock}

[supervisord]
nodaemon=true
logfile={self.root}/logs/supervisord.log
pidfile={self.root}/run/supervisord.pid
childlogdir={self.root}/logs

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{sock}

[program:salt-master]
command={self.python} -c "{SALT_MASTER}" -c {self.conf_dir}
autostart=true
autorestart=true
startsecs=1
stopasgroup=true
killasgroup=true
stopwaitsecs=20
redirect_stderr=true
stdout_logfile={self.root}/logs/salt-master.out
"""
            )
        return self

    # -- running ------------------------------------------------------------------------------

    def start(self, timeout=90, wait=True):
        self._supervisord = subprocess.Popen(  # pylint: disable=consider-using-with
            [bin_path("supervisord"), "-c", self.supervisord_conf],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        if wait:
            self.wait_running(None, timeout)
        return self

    def master_pid(self):
        try:
            with open(self.pidfile, encoding="utf-8") as fh:
                return int(fh.read().strip())
        except (OSError, ValueError):
            return None

    def running(self):
        """``{"version", "master_pid", ...}`` reported by the live master's engine, or None."""
        try:
            with open(self.report_file, encoding="utf-8") as fh:
                report = json.load(fh)
        except (OSError, ValueError):
            return None
        pid = report.get("master_pid")
        try:
            os.kill(pid, 0)
        except (OSError, TypeError):
            return None
        if pid != self.master_pid():
            return None
        return report

    def wait_running(self, version=None, timeout=90, newer_than=0):
        """Wait until the live master reports ``version`` (any when None); return the report."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            report = self.running()
            if report and (version is None or report["version"] == version) and (
                report.get("started", 0) > newer_than
            ):
                return report
            if self._supervisord is not None and self._supervisord.poll() is not None:
                raise RuntimeError(f"supervisord exited with {self._supervisord.returncode}")
            time.sleep(0.25)
        raise TimeoutError(
            f"the salt-master under {self.supervisord_conf} did not report plugin "
            f"{version or 'any'} within {timeout} s; last report: {self.running()}"
        )

    def stop(self, timeout=30):
        if self._supervisord is None:
            return
        if self._supervisord.poll() is None:
            self._supervisord.send_signal(signal.SIGTERM)
            try:
                self._supervisord.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self._supervisord.pid, signal.SIGKILL)
                self._supervisord.wait()
        self._supervisord = None

    def remove(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
