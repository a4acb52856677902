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

print(json.dumps({
    "python": sys.executable,
    "python_version": "%d.%d.%d" % sys.version_info[:3],
    "plugin": facts(sys.argv[1]),
    "salt": facts("salt"),
}))
"""


def probe(python, project):
    """
    Ask ``python`` which versions of ``project`` and of Salt it has installed.

    Returns ``{"python", "python_version", "plugin": None | {"version", "dist_info",
    "installed_at"}, "salt": ...}``.  Raises :class:`MasterPluginError` when the interpreter
    can't be run.
    """
    if not os.path.isabs(python) or not os.access(python, os.X_OK):
        raise MasterPluginError(
            f"the salt-master's Python {python!r} is not an executable absolute path "
            "(master_plugin:python)"
        )
    try:
        proc = subprocess.run(
            [python, "-c", _PROBE, project],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise MasterPluginError(f"cannot run the salt-master's Python {python}: {err}") from err
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
