import pytest

from saltext_masterplugin.core.errors import InvalidWheelError
from saltext_masterplugin.core.errors import RaasProtocolError
from saltext_masterplugin.core.wheels import describe_version
from saltext_masterplugin.core.wheels import download_url
from saltext_masterplugin.core.wheels import normalise_offers
from saltext_masterplugin.core.wheels import wheel_version

SHA = "a" * 64
SERVER = "https://raas.example"
PATH = "/static/master_plugins/{filename}"


def entry(filename="SSEAPE-8.18.3.6-py3-none-any.whl", **kw):
    return dict({"filename": filename, "sha256": SHA, "git_describe": "v8.18.3.6"}, **kw)


def test_wheel_version_of_real_names():
    assert wheel_version("SSEAPE-8.18.3.6-py3-none-any.whl", "SSEAPE") == "8.18.3.6"
    assert wheel_version("sseape-8.16.0.24-py3-none-any.whl", "SSEAPE") == "8.16.0.24"


@pytest.mark.parametrize(
    "filename, words",
    [
        ("../SSEAPE-8.18.3.6-py3-none-any.whl", "path"),
        ("/etc/SSEAPE-8.18.3.6-py3-none-any.whl", "path"),
        ("sub\\SSEAPE-8.18.3.6-py3-none-any.whl", "path"),
        ("SSEAPE-8.18.3.6.tar.gz", "refusing"),
        ("evil-8.18.3.6-py3-none-any.whl", "not of 'SSEAPE'"),
        ("", "not a file name"),
        (None, "not a file name"),
    ],
)
def test_wheel_version_refuses(filename, words):
    with pytest.raises(InvalidWheelError) as err:
        wheel_version(filename, "SSEAPE")
    assert words in str(err.value)


@pytest.mark.parametrize(
    "describe, version",
    [("v8.18.3.6", "8.18.3.6"), ("8.16.0.24", "8.16.0.24"), ("v8.18.3.6-3-gabc123", "8.18.3.6"),
     ("", None), ("garbage", None)],
)
def test_describe_version(describe, version):
    assert describe_version(describe) == version


def test_offers_are_normalised_current_first_and_keep_extra_keys():
    raw = {
        "rollback": entry("SSEAPE-8.16.0.24-py3-none-any.whl", git_describe="v8.16.0.24"),
        "zeta": entry("SSEAPE-8.19.0.1-py3-none-any.whl", git_describe="v8.19.0.1"),
        "current": entry(sha256=SHA.upper()),
        "empty": None,
    }
    offers = normalise_offers(raw, "SSEAPE", SERVER, PATH)
    assert [o.key for o in offers] == ["current", "rollback", "zeta"]
    assert offers[0].version == "8.18.3.6"
    assert offers[0].sha256 == SHA  # lower-cased
    assert offers[0].url == SERVER + "/static/master_plugins/SSEAPE-8.18.3.6-py3-none-any.whl"


def test_offer_with_mismatching_git_describe_is_refused():
    with pytest.raises(RaasProtocolError, match="does not match the wheel's version 8.18.3.6"):
        normalise_offers({"current": entry(git_describe="v8.18.3.5")}, "SSEAPE", SERVER, PATH)


@pytest.mark.parametrize("sha", [None, "", "abc", "g" * 64])
def test_offer_without_valid_sha256_is_refused(sha):
    with pytest.raises(RaasProtocolError, match="no valid sha256"):
        normalise_offers({"current": entry(sha256=sha)}, "SSEAPE", SERVER, PATH)


def test_offer_with_path_filename_is_refused():
    with pytest.raises(InvalidWheelError, match="contains a path"):
        normalise_offers(
            {"current": entry("../../etc/SSEAPE-8.18.3.6-py3-none-any.whl")}, "SSEAPE", SERVER, PATH
        )


def test_download_url_quotes_and_prefixes():
    assert download_url(SERVER + "/", "dl/{filename}", "SSEAPE-1.0-py3-none-any.whl") == (
        SERVER + "/dl/SSEAPE-1.0-py3-none-any.whl"
    )
    assert download_url(SERVER, PATH, "SSEAPE-1.0+a b-py3-none-any.whl").endswith(
        "SSEAPE-1.0%2Ba%20b-py3-none-any.whl"
    )
