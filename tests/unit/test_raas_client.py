"""The RaaS client's protocol handling, against the RaaS double on loopback."""
import logging

import pytest

from saltext_masterplugin.core.errors import RaasAuthError
from saltext_masterplugin.core.errors import RaasConnectionError
from saltext_masterplugin.core.errors import RaasError
from saltext_masterplugin.core.errors import RaasRpcError
from saltext_masterplugin.core.raas import RaasClient
from saltext_masterplugin.core.settings import RaasSettings

PASSWORD = "s3cret-pass"


@pytest.fixture
def raas(raas):
    raas.users = {"root": PASSWORD}
    return raas


def client_for(raas, tmp_path, **kw):
    settings = dict(
        server=raas.url,
        username="root",
        password=PASSWORD,
        timeout=5,
        jwt_file=str(tmp_path / "auth_token.jwt"),
    )
    settings.update(kw)
    return RaasClient(RaasSettings(**settings))


def paths(raas):
    return [(m, p, s) for m, p, s in raas.requests]


def test_login_with_xsrf_then_rpc(raas, tmp_path):
    with client_for(raas, tmp_path) as client:
        versions = client.get_plugin_versions()
    assert set(versions) == {"current", "rollback"}
    assert paths(raas) == [
        ("GET", "/account/login", 200),
        ("POST", "/account/login", 200),
        ("POST", "/rpc", 200),
    ]
    assert raas.calls_of("get_plugin_versions")[0]["user"] == "root"


def test_xsrf_off(raas, tmp_path):
    raas.xsrf = False
    with client_for(raas, tmp_path) as client:
        assert client.rpc("master", "get_plugin_versions")
        assert client._xsrf is None  # pylint: disable=protected-access
    assert [p for _, p, _ in paths(raas)] == ["/account/login", "/account/login", "/rpc"]


def test_expired_jwt_relogs_in_once(raas, tmp_path):
    with client_for(raas, tmp_path) as client:
        client.get_plugin_versions()
        raas.expire_jwts()
        client.get_plugin_versions()
        assert client.logins == 2
    assert [s for m, p, s in paths(raas) if p == "/rpc"] == [200, 401, 200]


def test_jwt_refused_twice_is_final_and_does_not_loop(raas, tmp_path):
    raas.reject_all_jwts = True
    with client_for(raas, tmp_path) as client:
        with pytest.raises(RaasAuthError, match="does not accept a fresh JWT"):
            client.get_plugin_versions()
        assert client.logins == 2
    assert [s for m, p, s in paths(raas) if p == "/rpc"] == [401, 401]


def test_invalid_credentials_is_final_and_never_shows_the_password(raas, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    with client_for(raas, tmp_path, password="wrong-password") as client:
        with pytest.raises(RaasAuthError) as err:
            client.get_plugin_versions()
    assert "Invalid credentials" in str(err.value)
    assert "'root'" in str(err.value)
    assert "wrong-password" not in str(err.value)
    assert "wrong-password" not in caplog.text
    assert [p for _, p, _ in paths(raas)].count("/account/login") == 2  # GET xsrf + one POST


def test_xsrf_token_lost_is_refreshed_once(raas, tmp_path):
    with client_for(raas, tmp_path) as client:
        client.get_plugin_versions()
        raas.xsrf_tokens.clear()  # the server forgot our token
        client.get_plugin_versions()
        assert client.logins == 1
    assert paths(raas)[3:] == [
        ("POST", "/rpc", 403),
        ("GET", "/account/login", 200),
        ("POST", "/rpc", 200),
    ]


def test_raas_restart_means_new_credentials(raas, tmp_path):
    with client_for(raas, tmp_path) as client:
        client.get_plugin_versions()
        first = raas.instance_id
        raas.change_instance()
        assert raas.instance_id != first
        assert client.get_plugin_versions()
        assert client.logins == 2
        assert client._instance_id == raas.instance_id  # pylint: disable=protected-access


def test_instance_change_on_a_good_answer_reauthenticates_next_time(raas, tmp_path):
    with client_for(raas, tmp_path) as client:
        client.get_plugin_versions()
        with raas.lock:
            raas.instance_id = "restarted"  # same tokens still valid, but a new instance
        client.get_plugin_versions()  # answered fine, notices the change
        client.get_plugin_versions()  # logs in again first
        assert client.logins == 2


def test_rpc_error_is_raised_with_code_message_detail(raas, tmp_path):
    with client_for(raas, tmp_path) as client:
        with pytest.raises(RaasRpcError) as err:
            client.rpc("master", "set_plugin_status", "m1", "not_a_status")
    assert err.value.code == 400
    assert "invalid plugin status 'not_a_status'" in err.value.rpc_message
    assert err.value.detail == "master.set_plugin_status"
    assert "master.set_plugin_status failed: [400]" in str(err.value)


def test_server_errors_are_retried_for_reads(raas, tmp_path):
    raas.fail_next(2, status=503, path_prefix="/rpc")
    with client_for(raas, tmp_path) as client:
        assert client.get_plugin_versions()
    assert [s for m, p, s in paths(raas) if p == "/rpc"] == [503, 503, 200]


def test_server_errors_are_not_retried_for_writes(raas, tmp_path):
    with client_for(raas, tmp_path) as client:
        client.get_plugin_versions()
        raas.fail_next(1, status=503, path_prefix="/rpc")
        with pytest.raises(RaasConnectionError, match="HTTP 503"):
            client.rpc("master", "set_plugin_status", "m1", "upgrading")
    assert raas.calls_of("set_plugin_status") == []
    assert [s for m, p, s in paths(raas) if p == "/rpc"] == [200, 503]


def test_retries_are_bounded(raas, tmp_path):
    raas.fail_next(10, status=502, path_prefix="/rpc")
    with client_for(raas, tmp_path) as client:
        with pytest.raises(RaasConnectionError, match="HTTP 502 to POST /rpc"):
            client.get_plugin_versions()
    assert [s for m, p, s in paths(raas) if p == "/rpc"] == [502] * 4


def test_dropped_connection_on_a_read_is_retried(raas, tmp_path):
    raas.drop_next(1, path_prefix="/rpc")
    with client_for(raas, tmp_path) as client:
        assert client.get_plugin_versions()


def test_unreachable_server(tmp_path):
    settings = RaasSettings(server="http://127.0.0.1:9", username="u", password="p", timeout=2)
    with RaasClient(settings) as client:
        with pytest.raises(RaasConnectionError, match="cannot reach RaaS at http://127.0.0.1:9"):
            client.get_plugin_versions()


def test_slow_answer_times_out(raas, tmp_path):
    with client_for(raas, tmp_path, timeout=0.5) as client:
        client.get_plugin_versions()
        raas.delay(2, path_prefix="/rpc")
        with pytest.raises(RaasConnectionError, match="did not answer POST /rpc within 0.5 s"):
            client.rpc("master", "set_plugin_status", "m1", "upgrading")


def test_key_authentication_uses_the_plugins_jwt_file(raas, tmp_path):
    token = raas.issue_jwt("master-key")
    (tmp_path / "auth_token.jwt").write_text(token + "\n")
    with client_for(raas, tmp_path, password=None) as client:
        assert client.get_plugin_versions()
    assert raas.calls_of("get_plugin_versions")[0]["user"] == "master-key"
    assert ("POST", "/account/login", 200) not in paths(raas)


def test_key_authentication_without_token_file(raas, tmp_path):
    with client_for(raas, tmp_path, password=None) as client:
        with pytest.raises(RaasAuthError, match="auth_token.jwt does not exist"):
            client.get_plugin_versions()


def test_no_secret_in_logs_or_errors(raas, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    with client_for(raas, tmp_path) as client:
        client.get_plugin_versions()
        raas.expire_jwts()
        raas.fail_next(5, status=500, path_prefix="/rpc")
        with pytest.raises(RaasConnectionError) as err:
            client.get_plugin_versions()
    secrets = [PASSWORD, *raas.issued, *raas.xsrf_tokens]
    assert len(secrets) > 2
    for secret in secrets:
        assert secret not in caplog.text
        assert secret not in str(err.value)


def test_download_refuses_other_hosts(raas, tmp_path):
    with client_for(raas, tmp_path) as client:
        with pytest.raises(RaasError, match="is not on"):
            client.open_download("http://evil.example/SSEAPE-1-py3-none-any.whl")
