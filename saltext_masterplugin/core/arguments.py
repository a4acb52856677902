"""
Checks of user-supplied arguments, done before any I/O.

CLI and SLS arguments are YAML-typed: ``version=8.20`` arrives as the float ``8.2`` and
``version=8.18.3.6`` as a string, so a float or an int can never be trusted to be what the
user typed.
"""
import os

from packaging.version import InvalidVersion
from packaging.version import Version
from salt.exceptions import SaltInvocationError

LATEST = ("latest", "current")


def version_arg(value, name="version", allow_latest=True):
    """
    Check a version argument; return its canonical string, or ``None`` for "latest".

    ``None``, ``"latest"`` and ``"current"`` mean RaaS's current version when ``allow_latest``.
    """
    if value is None or (isinstance(value, str) and value.strip().lower() in LATEST):
        if allow_latest:
            return None
        raise SaltInvocationError(f"{name} is required: give a quoted version such as '8.18.3.6'")
    if isinstance(value, bool) or not isinstance(value, str):
        raise SaltInvocationError(
            f"{name}={value!r} arrived as a {type(value).__name__}, not a string: YAML turned "
            f"what you typed into a number. Quote the version, e.g. {name}='\"8.20\"' on the "
            f"command line or {name}: \"8.20\" in SLS"
        )
    try:
        return str(Version(value.strip()))
    except InvalidVersion as err:
        raise SaltInvocationError(
            f"{name}={value!r} is not a version (expected something like '8.18.3.6'"
            + (" or 'latest'" if allow_latest else "")
            + ")"
        ) from err


def dest_arg(dest):
    """Check a ``dest`` argument: an absolute path of a folder, or of a file in a folder."""
    if not dest or not isinstance(dest, str) or not os.path.isabs(dest):
        raise SaltInvocationError(f"dest must be an absolute path, not {dest!r}")
    folder = dest if os.path.isdir(dest) else os.path.dirname(dest)
    if not os.path.isdir(folder):
        raise SaltInvocationError(f"dest {dest!r}: folder {folder} does not exist")
    return dest


def bool_arg(value, name):
    """``value`` if it is a real bool (YAML turns "yes" into True, but not "maybe")."""
    if not isinstance(value, bool):
        raise SaltInvocationError(f"{name} must be True or False, not {value!r}")
    return value


def positive_arg(value, name):
    """``value`` if it is a positive number of seconds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise SaltInvocationError(f"{name} must be a positive number of seconds, not {value!r}")
    return value
