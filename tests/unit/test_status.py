import pytest

from saltext_masterplugin.core import status


@pytest.mark.parametrize(
    "installed, latest, error, expected, reason",
    [
        ("8.18.3.6", "8.18.3.6", None, status.UP_TO_DATE, None),
        ("8.16.0.24", "8.18.3.6", None, status.NEEDS_UPDATE, "installed 8.16.0.24, RaaS offers 8.18.3.6"),
        (None, "8.18.3.6", None, status.NEEDS_UPDATE, "not installed"),
        ("8.19", "8.18.3.6", None, status.UP_TO_DATE, "newer than RaaS's current"),
        ("8.16.0.24", None, "timed out", status.CANNOT_UPDATE_DISCONNECTED, "timed out"),
        ("8.16.0.24", None, None, status.CANNOT_UPDATE_REASON_UNKNOWN, "offers no current"),
        ("weird", "8.18.3.6", None, status.CANNOT_UPDATE_REASON_UNKNOWN, "not a version"),
    ],
)
def test_evaluate(installed, latest, error, expected, reason):
    got, reasons = status.evaluate(installed, latest, error)
    assert got == expected
    if reason is None:
        assert reasons == []
    else:
        assert any(reason in r for r in reasons), reasons


def test_vocabulary_is_raas_own():
    assert status.STATUSES == (
        "up_to_date",
        "needs_update",
        "cannot_update_disconnected",
        "cannot_update_plugin_old",
        "cannot_update_salt_old",
        "cannot_update_reason_unknown",
        "upgrading",
        "restarting",
        "upgrade_failed",
        "rollback_failed_disconnected",
    )
