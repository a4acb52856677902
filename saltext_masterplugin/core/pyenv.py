"""
Facts about the salt-master's Python environment, asked of that interpreter itself.

The salt-master may run a different Python than the process asking (a onedir package's
``/opt/saltstack/salt/bin/python3``, a virtualenv, ``master_plugin:python``), so we run a short
probe in it rather than trusting our own ``sys.path``.
"""
import json
import os
import subprocess

from saltext_masterplugin.core.errors import MasterPluginError

# Starting an interpreter and importing importlib.metadata takes well under a second; 60 s only
# guards against a hung filesystem.
PROBE_TIMEOUT = 60

_PROBE = r"""
import json, os, sys
import importlib.metadata as md

def facts(name):
    try:
        dist = md.distribution(name)
    except md.PackageNotFoundError:
        return None
    path = getattr(dist, "_path", None)
    try:
        mtime = os.stat(path).st_mtime if path else None
    except OSError:
        mtime = None
    return {"version": dist.version, "dist_info": str(path) if path else None,
            "installed_at": mtime}

plugin = facts(sys.argv[1])
importable, import_error = False, None
if plugin:
    try:
        import importlib
        importlib.import_module(sys.argv[2])
        importable = True
    except Exception as exc:  # any import failure means a broken plugin
        import_error = "%s: %s" % (type(exc).__name__, exc)
import importlib.util
has_pip = importlib.util.find_spec("pip") is not None
extras = [p for p in sys.path if os.path.basename(p).startswith("extras-3.") and os.path.isdir(p)]

print(json.dumps({
    "python": sys.executable,
    "python_version": "%d.%d.%d" % sys.version_info[:3],
    "plugin": plugin,
    "importable": importable,
    "import_error": import_error,
    "salt": facts("salt"),
    "extras_dir": extras[0] if extras else None,
    "has_pip": has_pip,
}))
"""


def run_captured(argv, timeout, what, error=MasterPluginError):
    """
    Run ``argv`` (a list, never a shell string); return the ``CompletedProcess``.  Failing to
    start it or a timeout raise ``error`` saying ``what`` could not be run.
    """
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise error(f"cannot run {what}: {err}") from err


def import_name(project):
    """The plugin's import name: ``SSEAPE`` is imported as ``sseape``."""
    return project.lower().replace("-", "_")


def probe(python, project):
    """
    Ask ``python`` which versions of ``project`` and of Salt it has installed, and whether the
    plugin imports.

    Returns ``{"python", "python_version", "plugin": None | {"version", "dist_info",
    "installed_at"}, "importable", "import_error", "salt": ..., "extras_dir"}``; ``extras_dir``
    is the onedir ``extras-3.X`` folder on that interpreter's path, if any.  Raises
    :class:`MasterPluginError` when the interpreter can't be run.
    """
    if not os.path.isabs(python) or not os.access(python, os.X_OK):
        raise MasterPluginError(
            f"the salt-master's Python {python!r} is not an executable absolute path "
            "(master_plugin:python)"
        )
    proc = run_captured(
        [python, "-c", _PROBE, project, import_name(project)],
        PROBE_TIMEOUT,
        f"the salt-master's Python {python}",
    )
    if proc.returncode != 0:
        raise MasterPluginError(
            f"the salt-master's Python {python} failed to report its packages: "
            f"{proc.stderr.strip()[-500:]}"
        )
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as err:
        raise MasterPluginError(
            f"the salt-master's Python {python} answered the package probe with "
            f"{proc.stdout[-200:]!r}"
        ) from err
