"""
Restarting the salt-master so that it loads the newly installed plugin.

Methods (``master_plugin:restart``):

* ``service`` (default, as the vendor does): Salt's ``service`` module, service
  ``master_plugin:service_name`` (default ``salt-master``);
* ``supervisord``: Salt's ``supervisord`` module (containers often run salt-master under it);
* ``command``: a configured command (an argv list, or a string split like a shell would);
* ``none``: never restart; the update reports that a restart is required.

Salt's functions are handed in by the loader module (the core never touches ``__salt__``).
When no init system or supervisor manages salt-master, the restart can't happen: the outcome
says so, with what to run by hand, and is never reported as done.  When the caller runs inside
the salt-master's own process tree (a job the master runs, e.g. RaaS's routed runner job), the
restart would kill it before it can record its result: then the restart is started detached, in
a new session (``setsid``), and the outcome says it was scheduled.
"""
import logging
import os
import shlex
import shutil
import subprocess
import sys

from saltext_masterplugin.core import hostfacts
from saltext_masterplugin.core.errors import MasterPluginError
from saltext_masterplugin.core.settings import RESTART_METHODS as METHODS

log = logging.getLogger(__name__)



def outcome(method, **kw):
    result = {
        "method": method,
        "done": False,  # salt-master was restarted and is back
        "required": False,  # a person must restart it
        "detached": False,  # a restart was started in the background
        "failed": False,  # it was restarted but did not come back
        "how": None,  # what to run by hand
        "message": "",
        "pid_before": None,
        "pid_after": None,
    }
    result.update(kw)
    return result


def _salt_call():
    found = shutil.which("salt-call")
    if found:
        return [found]
    return [sys.executable, "-c", "import salt.scripts; salt.scripts.salt_call()"]


# The Salt functions a Restarter may use; the loader glue hands over those it has.
SALT_FUNCTIONS = (
    "service.available",
    "service.restart",
    "supervisord.status",
    "supervisord.restart",
)


def from_salt(settings, salt_functions, pidfile, method=None):
    """A :class:`Restarter` for ``settings`` (``PluginSettings``), using Salt's own functions."""
    functions = {name: salt_functions[name] for name in SALT_FUNCTIONS if name in salt_functions}
    return Restarter(method or settings.restart, functions, settings.restart_options, pidfile)


class Restarter:
    """
    :param method: one of :data:`METHODS`.
    :param functions: Salt functions by name (``service.available``, ``service.restart``,
        ``supervisord.status``, ``supervisord.restart``), from the loader module.
    :param options: ``service_name``, ``supervisorctl``, ``supervisord_conf``,
        ``restart_command``, ``restart_timeout``, ``restart_detach`` (``auto``/True/False).
    """

    def __init__(self, method, functions, options, pidfile):
        if method not in METHODS:
            raise MasterPluginError(
                f"master_plugin:restart must be one of {', '.join(METHODS)}, not {method!r}"
            )
        self.method = method
        self.functions = functions or {}
        self.service_name = options.get("service_name") or "salt-master"
        self.supervisorctl = options.get("supervisorctl")
        self.supervisord_conf = options.get("supervisord_conf")
        self.command = options.get("restart_command")
        self.timeout = float(options.get("restart_timeout") or 120)
        self.detach = options.get("restart_detach", "auto")
        self.pidfile = pidfile

    # -- can it happen? ----------------------------------------------------------------------

    def manual_how(self):
        name = self.service_name
        if self.method == "supervisord":
            conf = f" -c {self.supervisord_conf}" if self.supervisord_conf else ""
            return f"supervisorctl{conf} restart {name}"
        if self.method == "command" and self.command:
            return " ".join(self._command_argv())
        return (
            f"systemctl restart {name} (with an init system), or in a container stop the "
            "salt-master process and start it again (e.g. restart the container)"
        )

    def blocker(self):
        """Why a restart can't be done by this method here, or ``None``."""
        if self.method == "none":
            return "master_plugin:restart is none"
        if self.method == "service":
            available = self.functions.get("service.available")
            if available is None:
                return "Salt's service module is not available on this host"
            if not available(self.service_name):
                return (
                    f"no init system manages a service {self.service_name!r} here "
                    "(service.available is False; a container without an init manager?)"
                )
            return None
        if self.method == "supervisord":
            status = self.functions.get("supervisord.status")
            if status is None:
                return "Salt's supervisord module is not available on this host"
            try:
                programs = status(
                    None, conf_file=self.supervisord_conf, bin_env=self.supervisorctl
                )
            except Exception as err:  # pylint: disable=broad-except
                return f"supervisorctl could not be asked ({err})"
            state = (programs or {}).get(self.service_name, {}).get("state")
            if state is None:
                return f"supervisord does not manage a program {self.service_name!r}"
            if state not in ("RUNNING", "STARTING", "BACKOFF", "STOPPED", "EXITED", "FATAL"):
                return f"supervisord reports {self.service_name!r} as {state}"
            return None
        if self.method == "command" and not self.command:
            return "master_plugin:restart is command but master_plugin:restart_command is not set"
        return None

    def _not_done(self, pid_before, message, failed=False):
        """The restart did not happen (``failed``: and salt-master is down): say what to run."""
        return outcome(
            self.method,
            required=not failed,
            failed=failed,
            how=self.manual_how(),
            pid_before=pid_before,
            message=message,
        )

    def must_detach(self, master_pid):
        if self.detach in (True, False):
            return self.detach
        return bool(master_pid) and hostfacts.is_descendant_of(os.getpid(), master_pid)

    # -- doing it -----------------------------------------------------------------------------

    def _command_argv(self):
        if isinstance(self.command, (list, tuple)):
            return [str(part) for part in self.command]
        return shlex.split(str(self.command))

    def _detached_argv(self):
        if self.method == "service":
            return _salt_call() + ["--local", "service.restart", self.service_name]
        if self.method == "supervisord":
            ctl = self.supervisorctl or shutil.which("supervisorctl") or "supervisorctl"
            if os.path.isdir(ctl):
                ctl = os.path.join(ctl, "bin", "supervisorctl")
            argv = [ctl]
            if self.supervisord_conf:
                argv += ["-c", self.supervisord_conf]
            return argv + ["restart", self.service_name]
        return self._command_argv()

    def _restart_attached(self):
        """Run the restart; return an error message or ``None``."""
        if self.method == "service":
            ok = self.functions["service.restart"](self.service_name)
            return None if ok else f"service.restart {self.service_name} returned {ok!r}"
        if self.method == "supervisord":
            out = self.functions["supervisord.restart"](
                self.service_name, conf_file=self.supervisord_conf, bin_env=self.supervisorctl
            )
            return f"supervisorctl restart {self.service_name}: {out}" if "ERROR" in str(out) else None
        argv = self._command_argv()
        try:
            proc = subprocess.run(
                argv, capture_output=True, text=True, timeout=self.timeout, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            return f"{' '.join(argv)} failed: {err}"
        if proc.returncode:
            return f"{' '.join(argv)} exited with {proc.returncode}: {proc.stderr.strip()[-300:]}"
        return None

    def restart(self, installed_at):
        """
        Restart salt-master so that it loads a plugin installed at ``installed_at`` (epoch).

        Returns an :func:`outcome` dict; never raises for a restart that can't or didn't happen.
        """
        before = hostfacts.master_process(self.pidfile)
        pid_before = before["pid"] if before else None
        why_not = self.blocker()
        if why_not:
            return self._not_done(
                pid_before, f"restart salt-master by hand: {why_not}; run: {self.manual_how()}"
            )
        if self.must_detach(pid_before):
            argv = self._detached_argv()
            log.info("Restarting salt-master detached: %s", " ".join(argv))
            try:
                subprocess.Popen(  # pylint: disable=consider-using-with
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                    close_fds=True,
                )
            except OSError as err:
                return self._not_done(
                    pid_before,
                    f"restart salt-master by hand: {argv[0]} could not be started ({err})",
                )
            return outcome(
                self.method,
                detached=True,
                pid_before=pid_before,
                message=(
                    "this job runs inside salt-master's own process tree, so the restart was "
                    f"started detached ({' '.join(argv)})"
                ),
            )
        try:
            error = self._restart_attached()
        except Exception as err:  # pylint: disable=broad-except
            error = f"the restart raised {type(err).__name__}: {err}"
        if error and hostfacts.master_process(self.pidfile) is None:
            return self._not_done(
                pid_before, f"the restart failed and salt-master is not running: {error}", True
            )
        if error:
            return self._not_done(pid_before, f"restart salt-master by hand: {error}")
        after = hostfacts.wait_for_new_master(self.pidfile, pid_before, installed_at, self.timeout)
        if after is None:
            return self._not_done(
                pid_before,
                f"salt-master did not come back with a new process within {self.timeout:g} s "
                f"after the restart (pid file {self.pidfile})",
                failed=True,
            )
        return outcome(
            self.method,
            done=True,
            pid_before=pid_before,
            pid_after=after["pid"],
            message=f"salt-master restarted (pid {pid_before} -> {after['pid']})",
        )
