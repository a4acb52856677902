import sys

import pytest
from salt.exceptions import SaltInvocationError

from saltext_masterplugin.core.arguments import version_arg
from saltext_masterplugin.core.errors import MasterPluginError
from saltext_masterplugin.core.settings import DEFAULT_DOWNLOAD_PATH
from saltext_masterplugin.core.settings import plugin_settings
from saltext_masterplugin.core.settings import raas_settings


@pytest.mark.parametrize("value", [None, "latest", "current", " Latest "])
def test_version_arg_latest(value):
    assert version_arg(value) is None


def test_version_arg_canonical_string():
    assert version_arg("8.18.3.6") == "8.18.3.6"
    assert version_arg("8.20") == "8.20"


@pytest.mark.parametrize("value", [8.2, 8, True])
def test_version_arg_refuses_yaml_numbers_and_says_to_quote(value):
    with pytest.raises(SaltInvocationError) as err:
        version_arg(value)
    assert "version=" in str(err.value)
    assert "Quote the version" in str(err.value)


def test_version_arg_refuses_garbage_naming_the_argument():
    with pytest.raises(SaltInvocationError, match=r"^target='eight' is not a version"):
        version_arg("eight", name="target")


def test_version_arg_required():
    with pytest.raises(SaltInvocationError, match="version is required"):
        version_arg(None, allow_latest=False)


def test_raas_settings_from_plugin_keys(tmp_path):
    settings = raas_settings(
        {
            "sseapi_server": "https://raas.example/",
            "sseapi_username": "root",
            "sseapi_password": "s3cret",
            "sseapi_ssl_validate_cert": "False",
            "sseapi_timeout": 30,
            "cachedir": str(tmp_path),
        }
    )
    assert settings.server == "https://raas.example"
    assert settings.verify is False
    assert settings.config_name == "internal"
    assert settings.timeout == 30
    assert settings.jwt_file == str(tmp_path / "auth_token.jwt")
    assert "s3cret" not in repr(settings)


def test_raas_settings_verify_on_by_default_and_client_cert():
    settings = raas_settings(
        {"sseapi_server": "https://r", "sseapi_ssl_cert": "/c.pem", "sseapi_ssl_key": "/k.pem"}
    )
    assert settings.verify is True
    assert settings.client_cert == ("/c.pem", "/k.pem")


@pytest.mark.parametrize(
    "opts, words",
    [
        ({}, "sseapi_server is not set"),
        ({"sseapi_server": "raas.example"}, "must start with http"),
        ({"sseapi_server": "https://r", "sseapi_timeout": 0}, "sseapi_timeout"),
        ({"sseapi_server": "https://r", "sseapi_ssl_validate_cert": "maybe"}, "validate_cert"),
    ],
)
def test_raas_settings_errors_name_the_key(opts, words):
    with pytest.raises(MasterPluginError, match=words):
        raas_settings(opts)


def test_plugin_settings_defaults(tmp_path):
    settings = plugin_settings({"cachedir": str(tmp_path)})
    assert settings.cache_dir == str(tmp_path / "plugin_cache")
    assert settings.name == "SSEAPE"
    assert settings.download_path == DEFAULT_DOWNLOAD_PATH
    assert settings.python == sys.executable
    assert settings.min_salt_version == "3002.1"
    assert settings.min_plugin_version == "8.11.2"


def test_plugin_settings_overrides_win(tmp_path):
    settings = plugin_settings(
        {"cachedir": "/x", "master_plugin": {"cache_dir": "/a", "max_download_size": 10}},
        {"cache_dir": str(tmp_path)},
    )
    assert settings.cache_dir == str(tmp_path)
    assert settings.max_download_size == 10


@pytest.mark.parametrize(
    "options, words",
    [
        ({"download_path": "/static/x.whl"}, "download_path"),
        ({"max_download_size": -1}, "max_download_size"),
        ({"min_plugin_version": 8.11}, "quoted string"),
    ],
)
def test_plugin_settings_errors(options, words):
    with pytest.raises(MasterPluginError, match=words):
        plugin_settings({"master_plugin": options})


def test_credentials_in_sseapi_server_are_dropped(caplog):
    settings = raas_settings({"sseapi_server": "https://admin:hunter2@raas.example/"})
    assert settings.server == "https://raas.example"
    assert "hunter2" not in caplog.text and "***@raas.example" in caplog.text


def test_bad_minimum_versions_are_refused():
    with pytest.raises(MasterPluginError, match="min_salt_version 'latest' is not a version"):
        plugin_settings({"master_plugin": {"min_salt_version": "latest"}})
