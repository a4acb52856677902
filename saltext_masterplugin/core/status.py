"""
The plugin status of one master, in RaaS's own vocabulary.

Pure logic: it takes facts that were gathered elsewhere and returns ``(status, reasons)``.
"""
from packaging.version import InvalidVersion
from packaging.version import Version

UP_TO_DATE = "up_to_date"
NEEDS_UPDATE = "needs_update"
CANNOT_UPDATE_DISCONNECTED = "cannot_update_disconnected"
CANNOT_UPDATE_PLUGIN_OLD = "cannot_update_plugin_old"
CANNOT_UPDATE_SALT_OLD = "cannot_update_salt_old"
CANNOT_UPDATE_REASON_UNKNOWN = "cannot_update_reason_unknown"
UPGRADING = "upgrading"
RESTARTING = "restarting"
UPGRADE_FAILED = "upgrade_failed"
ROLLBACK_FAILED_DISCONNECTED = "rollback_failed_disconnected"

STATUSES = (
    UP_TO_DATE,
    NEEDS_UPDATE,
    CANNOT_UPDATE_DISCONNECTED,
    CANNOT_UPDATE_PLUGIN_OLD,
    CANNOT_UPDATE_SALT_OLD,
    CANNOT_UPDATE_REASON_UNKNOWN,
    UPGRADING,
    RESTARTING,
    UPGRADE_FAILED,
    ROLLBACK_FAILED_DISCONNECTED,
)


def _v(value):
    try:
        return Version(str(value))
    except (InvalidVersion, TypeError):
        return None


def evaluate(installed, latest, raas_error=None):
    """
    ``(status, reasons)`` from the installed plugin version, RaaS's ``current`` version and the
    error met asking RaaS (if any).
    """
    if raas_error is not None:
        return CANNOT_UPDATE_DISCONNECTED, [f"RaaS could not be asked for plugin versions: {raas_error}"]
    if latest is None:
        return CANNOT_UPDATE_REASON_UNKNOWN, ["RaaS offers no current plugin version"]
    if installed is None:
        return NEEDS_UPDATE, [f"the plugin is not installed; RaaS offers {latest}"]
    have, want = _v(installed), _v(latest)
    if have is None:
        return CANNOT_UPDATE_REASON_UNKNOWN, [f"installed plugin version {installed!r} is not a version"]
    if have == want:
        return UP_TO_DATE, []
    if have < want:
        return NEEDS_UPDATE, [f"installed {installed}, RaaS offers {latest}"]
    return UP_TO_DATE, [f"installed {installed} is newer than RaaS's current {latest}"]


def prerequisites(salt_version, installed, is_root_user, user, min_salt, min_plugin, manual_cmd):
    """
    ``(status, reasons)`` for the first unmet prerequisite of an automated update, or
    ``(None, [])`` when all are met: Salt >= ``min_salt``, installed plugin >= ``min_plugin``,
    salt-master running as root.
    """
    have_salt = _v(salt_version)
    if have_salt is not None and have_salt < _v(min_salt):
        return CANNOT_UPDATE_SALT_OLD, [
            f"the salt-master runs Salt {salt_version}; automated plugin updates need Salt >= "
            f"{min_salt} (master_plugin:min_salt_version); upgrade Salt first"
        ]
    have_plugin = _v(installed)
    if have_plugin is not None and have_plugin < _v(min_plugin):
        return CANNOT_UPDATE_PLUGIN_OLD, [
            f"installed plugin {installed} is older than {min_plugin} "
            f"(master_plugin:min_plugin_version) and must be upgraded by hand: {manual_cmd}"
        ]
    if not is_root_user:
        return CANNOT_UPDATE_REASON_UNKNOWN, [
            f"salt-master runs as {user!r}, not root; automated plugin updates need a "
            "salt-master running as root"
        ]
    return None, []
