"""
Install a plugin wheel from the verified cache into the salt-master's own Python.

pip runs in that interpreter (``python -m pip``) with ``--no-index --find-links <cache>``: the
plugin's bytes come from the plugin cache, never from the network.  On a onedir salt-master the
plugin lives in ``salt-pip``'s target, the ``extras-3.X`` folder, and is installed there.
The installed version is read back afterwards; anything else than the wanted version is a
failed install.  A failed install is repaired: the previous version is reinstalled from the cache
when pip left something else behind, so the master always keeps an importable plugin.
"""
import glob
import logging
import os
import shutil
import sys

from packaging.utils import canonicalize_name

from saltext_masterplugin.core import pyenv
from saltext_masterplugin.core.errors import MasterPluginError

log = logging.getLogger(__name__)

# pip installing one local wheel takes seconds; ten minutes only guards against a hung disk.
PIP_TIMEOUT = 600


class InstallError(MasterPluginError):
    """pip failed, or the installed version is not the one wanted."""

    def __init__(self, message, output=""):
        super().__init__(message)
        self.output = output


def pip_command(python, wheel_path, find_links, target=None, reinstall=False, has_pip=True):
    """
    The argv that installs ``wheel_path`` (never a shell string): ``python -m pip``, or, for an
    interpreter without pip, our own pip aimed at it with ``--python``.
    """
    argv = [python, "-m", "pip"] if has_pip else [sys.executable, "-m", "pip", "--python", python]
    argv += [
        "install",
        "--no-index",
        "--find-links",
        find_links,
        "--disable-pip-version-check",
        "--no-input",
        "--no-cache-dir",
    ]
    if target:
        # salt-pip's layout on onedir packages: the plugin lives in extras-3.X.
        argv += ["--target", target, "--upgrade"]
    if reinstall:
        argv += ["--force-reinstall", "--no-deps"]
    argv.append(wheel_path)
    return argv


def run_pip(argv):
    """Run pip; return its combined output, or raise :class:`InstallError` with the tail of it."""
    log.info("Running %s", " ".join(argv))
    proc = pyenv.run_captured(argv, PIP_TIMEOUT, "pip", error=InstallError)
    output = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0:
        tail = "\n".join(output.splitlines()[-6:])
        raise InstallError(f"pip exited with {proc.returncode}: {tail}", output)
    return output


def remove_stale_dist_info(target, project, version):
    """
    pip's ``--target --upgrade`` replaces the package folder but keeps the old version's
    ``.dist-info`` beside the new one; remove it so only one version is visible.
    """
    wanted = canonicalize_name(project)
    for path in glob.glob(os.path.join(glob.escape(target), "*.dist-info")):
        name, _, rest = os.path.basename(path)[: -len(".dist-info")].partition("-")
        if canonicalize_name(name) == wanted and rest != version:
            log.info("Removing stale %s", path)
            shutil.rmtree(path, ignore_errors=True)


def install(
    python, project, wheel_path, version, find_links, target=None, reinstall=False, has_pip=True
):
    """
    Install ``wheel_path`` (version ``version``) into ``python`` and check that it is installed.

    Returns the probe of the environment afterwards.  Raises :class:`InstallError`.
    """
    output = run_pip(pip_command(python, wheel_path, find_links, target, reinstall, has_pip))
    if target:
        remove_stale_dist_info(target, project, version)
    facts = pyenv.probe(python, project)
    got = (facts.get("plugin") or {}).get("version")
    if got != version:
        raise InstallError(
            f"pip reported success but {python} now has {project} {got or 'not installed'}, "
            f"not {version}",
            output,
        )
    if not facts.get("importable"):
        raise InstallError(
            f"{project} {version} is installed in {python} but cannot be imported: "
            f"{facts.get('import_error')}",
            output,
        )
    log.info("Installed %s %s into %s", project, version, python)
    return facts
