"""
The demo: a small fleet on loopback, updated with the real commands.

In a temporary sandbox it starts the RaaS double (offering plugins 8.16.0.24 and 8.18.3.6), a
manager salt-master, and master hosts -- each a real salt-minion plus a real salt-master under
supervisord running plugin 8.16.0.24 -- then runs and prints::

    salt-run master_plugin.status tgt='host*'
    salt-run master_plugin.update tgt='host*' batch=1
    salt-run master_plugin.status tgt='host*'

and shows what RaaS received.  Every process it started is stopped and the sandbox removed, also
on Ctrl-C or when a step fails.  Run it with ``make demo``.
"""
import argparse
import getpass
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import yaml

from saltext_masterplugin.testing.raas_double import RaasDouble
from saltext_masterplugin.testing.sample_wheels import CURRENT
from saltext_masterplugin.testing.sample_wheels import ROLLBACK
from saltext_masterplugin.testing.sample_wheels import build_wheel
from saltext_masterplugin.testing.supervised_master import SupervisedMaster
from saltext_masterplugin.testing.supervised_master import bin_path
from saltext_masterplugin.testing.supervised_master import free_port

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "examples")


def _shown(arg):
    """``tgt=host*`` as an administrator types it: ``tgt='host*'``."""
    key, sep, value = arg.partition("=")
    if sep and shlex.quote(value) != value:
        return f"{key}={shlex.quote(value)}"
    return shlex.quote(arg)


def say(text=""):
    print(text, flush=True)


class Demo:
    def __init__(self, hosts, keep):
        self.hosts = hosts
        self.keep = keep
        self.root = tempfile.mkdtemp(prefix="mp-demo-")
        self.procs = []
        self.masters = []
        self.raas = None
        self.conf = os.path.join(self.root, "manager", "etc", "salt")

    # -- set-up -------------------------------------------------------------------------------

    def spawn(self, argv, log_name):
        log = open(os.path.join(self.root, log_name), "ab")  # pylint: disable=consider-using-with
        proc = subprocess.Popen(  # pylint: disable=consider-using-with
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def start_raas(self):
        wheels = os.path.join(self.root, "wheels")
        self.raas = RaasDouble(users={"root": "salt"})
        self.raas.add_plugin("current", build_wheel(wheels, CURRENT))
        self.raas.add_plugin("rollback", build_wheel(wheels, ROLLBACK))
        self.raas.start()
        say(f"RaaS double at {self.raas.url}, offering {CURRENT} (current) and {ROLLBACK} (rollback)")

    def start_manager(self):
        os.makedirs(self.conf, exist_ok=True)
        root = os.path.join(self.root, "manager")
        self.ports = (free_port(), free_port())
        config = {
            "id": "manager",
            "root_dir": root,
            "user": getpass.getuser(),
            "interface": "127.0.0.1",
            "publish_port": self.ports[0],
            "ret_port": self.ports[1],
            "auto_accept": True,
            "file_roots": {"base": [os.path.join(EXAMPLES, "sls")]},
            "log_file": os.path.join(root, "master.log"),
            "sock_dir": os.path.join(root, "run"),
            "pki_dir": os.path.join(root, "pki"),
            "cachedir": os.path.join(root, "cache"),
            "pidfile": os.path.join(root, "master.pid"),
        }
        with open(os.path.join(self.conf, "master"), "w", encoding="utf-8") as fh:
            yaml.safe_dump(config, fh)
        self.spawn([bin_path("salt-master"), "-c", self.conf, "-l", "quiet"], "manager.log")
        say(f"manager salt-master on 127.0.0.1:{self.ports[1]}")

    def start_hosts(self, running_masters=True):
        """
        Start ``self.hosts`` master hosts: a salt-minion each, with its own salt-master under
        supervisord -- or, with ``running_masters=False``, all minions pointed at one stopped
        salt-master's configuration (enough for ``status`` at scale).
        """
        wheel = build_wheel(os.path.join(self.root, "wheels"), ROLLBACK)
        shared = None
        for n in range(1, self.hosts + 1):
            if running_masters or shared is None:
                host = SupervisedMaster(
                    os.path.join(self.root, f"host{n}"), self.raas.url, wheel,
                    master_id=f"master{n}",
                ).build()
                if running_masters:
                    host.start(wait=False)
                    self.masters.append(host)
                shared = host
            host = shared
            minion_dir = os.path.join(self.root, f"minion{n}", "etc", "salt")
            os.makedirs(minion_dir, exist_ok=True)
            minion_root = os.path.dirname(os.path.dirname(minion_dir))
            with open(os.path.join(minion_dir, "minion"), "w", encoding="utf-8") as fh:
                yaml.safe_dump(
                    {
                        "id": f"host{n:02d}" if self.hosts > 9 else f"host{n}",
                        "master": "127.0.0.1",
                        "master_port": self.ports[1],
                        "publish_port": self.ports[0],
                        "user": getpass.getuser(),
                        "root_dir": minion_root,
                        "sock_dir": os.path.join(minion_root, "run"),
                        "pki_dir": os.path.join(minion_root, "pki"),
                        "cachedir": os.path.join(minion_root, "cache"),
                        "pidfile": os.path.join(minion_root, "minion.pid"),
                        "log_file": os.path.join(minion_root, "minion.log"),
                        "master_plugin": {"master_config": host.config_file},
                    },
                    fh,
                )
            self.spawn([bin_path("salt-minion"), "-c", minion_dir, "-l", "quiet"], f"minion{n}.log")
        for host in self.masters:
            host.wait_running(ROLLBACK, timeout=120)
        if running_masters:
            say(f"{self.hosts} master hosts (salt-minion + salt-master under supervisord, "
                f"plugin {ROLLBACK})")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            out = subprocess.run(
                [bin_path("salt"), "-c", self.conf, "host*", "test.ping", "--out=txt", "-t", "5"],
                capture_output=True, text=True, check=False,
            )
            if out.stdout.count(": True") == self.hosts:
                return
            time.sleep(1)
        raise RuntimeError("the minions did not connect to the manager in time")

    # -- the show -----------------------------------------------------------------------------

    def run(self, *args, check=True):
        argv = [bin_path(args[0]), "-c", self.conf, *args[1:]]
        say()
        say("$ " + " ".join([args[0], "-c", self.conf] + [_shown(a) for a in args[1:]]))
        proc = subprocess.run(argv, text=True, check=False)
        if check and proc.returncode:
            raise RuntimeError(f"{args[0]} exited with {proc.returncode}")
        return proc.returncode

    def show(self):
        self.run("salt-run", "master_plugin.status", "tgt=host*")
        self.run("salt-run", "master_plugin.update", "tgt=host*", "batch=1", "health_timeout=120")
        self.run("salt-run", "master_plugin.status", "tgt=host*")
        say()
        say("What the live salt-masters run (asked of their own engine):")
        for host in self.masters:
            report = host.running() or {}
            say(f"  {host.master_id}: plugin {report.get('version')} (pid {report.get('master_pid')})")
        say()
        say("What RaaS received (master.set_plugin_status):")
        for call in self.raas.calls_of("set_plugin_status"):
            master_id, status, jid = call["args"][:3]
            say(f"  {master_id:10} {status:12} last_update_jid={jid}")

    # -- tear-down ----------------------------------------------------------------------------

    def stop(self):
        for host in self.masters:
            host.stop()
        for proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if self.raas is not None:
            self.raas.stop()
        if self.keep:
            say(f"Sandbox kept in {self.root}")
        else:
            shutil.rmtree(self.root, ignore_errors=True)
        say("Stopped every process the demo started.")


def main(argv=None):
    parser = argparse.ArgumentParser(description="saltext-masterplugin demo")
    parser.add_argument("--hosts", type=int, default=3, help="master hosts (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the sandbox folder")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    demo = Demo(args.hosts, args.keep)
    started = time.monotonic()
    say(f"Sandbox: {demo.root}")
    try:
        demo.start_raas()
        demo.start_manager()
        demo.start_hosts()
        demo.show()
    except KeyboardInterrupt:
        say("Interrupted.")
        return 130
    except Exception as err:  # pylint: disable=broad-except
        say(f"The demo failed: {err}")
        return 1
    finally:
        demo.stop()
        say(f"({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
