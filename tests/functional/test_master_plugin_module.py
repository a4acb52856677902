"""``master_plugin.versions/sync/status`` through Salt's loader, against the RaaS double."""
import json
import os

import pytest
import salt.utils.args
from salt.exceptions import CommandExecutionError
from salt.exceptions import SaltInvocationError

from tests.support.helpers import CURRENT_WHEEL
from tests.support.helpers import ROLLBACK_WHEEL
from tests.support.helpers import assert_cache_verified
from tests.support.helpers import sha256_of

pytestmark = [pytest.mark.requires_salt_modules("master_plugin.sync")]

BOTH = {CURRENT_WHEEL, ROLLBACK_WHEEL}


def downloads(raas):
    return [(p.rsplit("/", 1)[-1], s) for _, p, s in raas.downloads()]


def test_every_function_has_serialisable_defaults(modules):
    names = [n for n in modules if n.startswith("master_plugin.")]
    assert {"master_plugin.versions", "master_plugin.sync", "master_plugin.status"} <= set(names)
    for name in names:
        spec = salt.utils.args.get_function_argspec(modules[name])
        json.dumps(spec.defaults)
        assert modules[name].__doc__ and "CLI Example:" in modules[name].__doc__, name


def test_versions_then_sync_then_sync_again(modules, raas, master_host, wheels):
    offered = modules.master_plugin.versions()
    assert [(v["key"], v["version"], v["cached"]) for v in offered] == [
        ("current", "8.18.3.6", False),
        ("rollback", "8.16.0.24", False),
    ]
    assert offered[0]["sha256"] == sha256_of(wheels["current"])
    assert offered[0]["url"] == raas.url + "/static/master_plugins/" + CURRENT_WHEEL

    first = modules.master_plugin.sync()
    assert sorted(first["fetched"]) == sorted(BOTH)
    assert first["cached"] == []
    assert first["cache_dir"] == master_host["cache_dir"]
    assert_cache_verified(master_host["cache_dir"], expect=BOTH)
    for key, name in (("current", CURRENT_WHEEL), ("rollback", ROLLBACK_WHEEL)):
        with open(os.path.join(master_host["cache_dir"], name), "rb") as fh:
            assert fh.read() == open(wheels[key], "rb").read()

    second = modules.master_plugin.sync()
    assert second["fetched"] == []
    assert sorted(second["cached"]) == sorted(BOTH)
    assert downloads(raas) == [(CURRENT_WHEEL, 200), (ROLLBACK_WHEEL, 200)]
    assert all(v["cached"] for v in modules.master_plugin.versions())


def test_sync_one_version(modules, raas, master_host):
    assert modules.master_plugin.sync(version="8.16.0.24")["fetched"] == [ROLLBACK_WHEEL]
    assert_cache_verified(master_host["cache_dir"], expect=[ROLLBACK_WHEEL])
    with pytest.raises(CommandExecutionError, match="does not offer plugin version 9.0; it offers 8.18.3.6, 8.16.0.24"):
        modules.master_plugin.sync(version="9.0")


def test_float_version_is_refused_before_any_io(modules, raas):
    with pytest.raises(SaltInvocationError, match="arrived as a float.*Quote the version"):
        modules.master_plugin.sync(version=8.2)
    assert raas.requests == []


def test_sync_with_xsrf_off(modules, raas, master_host):
    raas.xsrf = False
    assert sorted(modules.master_plugin.sync()["fetched"]) == sorted(BOTH)
    assert_cache_verified(master_host["cache_dir"], expect=BOTH)


def test_jwt_expiring_mid_run(modules, raas, master_host):
    raas.expire_jwts_before("/static/master_plugins/")
    assert sorted(modules.master_plugin.sync()["fetched"]) == sorted(BOTH)
    assert downloads(raas) == [(CURRENT_WHEEL, 401), (CURRENT_WHEEL, 200), (ROLLBACK_WHEEL, 200)]
    assert len(raas.issued) == 2
    assert_cache_verified(master_host["cache_dir"], expect=BOTH)


def test_bad_password(modules, raas, master_host):
    raas.users = {"root": "another"}
    with pytest.raises(CommandExecutionError) as err:
        modules.master_plugin.sync()
    assert "Invalid credentials" in str(err.value)
    assert "salt" not in str(err.value).split("sseapi_username")[-1].replace("'root'", "")
    assert_cache_verified(master_host["cache_dir"], expect=[])


def test_server_errors_then_success(modules, raas, master_host):
    raas.fail_next(2, status=503, path_prefix="/static/master_plugins/")
    raas.fail_next(1, status=502, path_prefix="/rpc")
    assert sorted(modules.master_plugin.sync()["fetched"]) == sorted(BOTH)
    assert downloads(raas)[:3] == [(CURRENT_WHEEL, 503), (CURRENT_WHEEL, 503), (CURRENT_WHEEL, 200)]
    assert_cache_verified(master_host["cache_dir"], expect=BOTH)


def test_truncated_download(modules, raas, master_host):
    raas.truncate_next_download()
    with pytest.raises(CommandExecutionError) as err:
        modules.master_plugin.sync()
    assert CURRENT_WHEEL in str(err.value)
    assert "the cached copy was not replaced" in str(err.value)
    assert f"verified in the cache: {ROLLBACK_WHEEL}" in str(err.value)
    assert_cache_verified(master_host["cache_dir"], expect=[ROLLBACK_WHEEL])
    # The next run completes the cache.
    assert modules.master_plugin.sync()["fetched"] == [CURRENT_WHEEL]
    assert_cache_verified(master_host["cache_dir"], expect=BOTH)


def test_corrupted_byte(modules, raas, master_host):
    raas.corrupt_next_download()
    with pytest.raises(CommandExecutionError, match=f"sha256 mismatch for {CURRENT_WHEEL}"):
        modules.master_plugin.sync()
    assert_cache_verified(master_host["cache_dir"], expect=[ROLLBACK_WHEEL])


def test_wrong_advertised_sha256(modules, raas, master_host):
    raas.advertise_sha256("current", "0" * 64)
    with pytest.raises(CommandExecutionError) as err:
        modules.master_plugin.sync()
    assert f"sha256 mismatch for {CURRENT_WHEEL}: expected 00000000" in str(err.value)
    assert_cache_verified(master_host["cache_dir"], expect=[ROLLBACK_WHEEL])


def test_filename_with_dotdot_is_refused(modules, raas, master_host, tmp_path):
    raas.offer_raw(
        "current",
        {
            "filename": "../../../SSEAPE-8.18.3.6-py3-none-any.whl",
            "sha256": "a" * 64,
            "git_describe": "v8.18.3.6",
        },
    )
    with pytest.raises(CommandExecutionError, match="contains a path, only a bare wheel"):
        modules.master_plugin.sync()
    assert raas.downloads() == []
    assert_cache_verified(master_host["cache_dir"], expect=[])
    assert not list(tmp_path.rglob("SSEAPE-8.18.3.6-py3-none-any.whl"))


def test_repairs_a_tampered_cache(modules, raas, master_host):
    modules.master_plugin.sync()
    with open(os.path.join(master_host["cache_dir"], CURRENT_WHEEL), "ab") as fh:
        fh.write(b"tampered")
    assert [v["cached"] for v in modules.master_plugin.versions()] == [False, True]
    result = modules.master_plugin.sync()
    assert result["repaired"] == [CURRENT_WHEEL]
    assert_cache_verified(master_host["cache_dir"], expect=BOTH)


@pytest.mark.parametrize(
    "env, expected, installed",
    [
        ("rollback", "needs_update", "8.16.0.24"),
        ("current", "up_to_date", "8.18.3.6"),
        ("none", "needs_update", None),
    ],
)
def test_status(modules_with, plugin_envs, raas, env, expected, installed):
    modules = modules_with(python=plugin_envs[env])
    modules.master_plugin.sync(version="8.18.3.6")
    result = modules.master_plugin.status()
    assert result["is_master"] is True
    assert result["master_id"] == "sandbox_master"
    assert result["plugin_status"] == expected
    assert result["installed_version"] == installed
    assert result["latest_version"] == "8.18.3.6"
    assert result["rollback_version"] == "8.16.0.24"
    assert result["cached_versions"] == ["8.18.3.6"]
    assert result["salt_version"] is None  # these throwaway environments have no Salt
    assert result["python"] == plugin_envs[env]
    # No salt-master runs in this sandbox: nothing runs the plugin, and status says so.
    assert result["running_version"] is None
    assert result["master_pid"] is None
    assert "salt-master is not running" in result["reasons"][-1]
    if expected == "needs_update":
        assert len(result["reasons"]) == 2


def test_status_reports_its_own_salt(modules):
    import salt.version  # pylint: disable=import-outside-toplevel

    assert modules.master_plugin.status()["salt_version"] == salt.version.__version__


def test_status_when_raas_is_unreachable(modules_with, raas, plugin_envs):
    modules = modules_with(python=plugin_envs["rollback"])
    raas.stop()
    result = modules.master_plugin.status()
    assert result["plugin_status"] == "cannot_update_disconnected"
    assert result["installed_version"] == "8.16.0.24"
    assert result["latest_version"] is None
    assert "cannot reach RaaS at" in result["reasons"][0]


def test_status_when_raas_refuses_us(modules, raas):
    raas.users = {"root": "changed"}
    result = modules.master_plugin.status()
    assert result["plugin_status"] == "cannot_update_disconnected"
    assert "Invalid credentials" in result["reasons"][0]


def test_status_on_a_host_without_salt_master(modules_with, tmp_path):
    modules = modules_with(master_config=str(tmp_path / "nowhere" / "master"))
    result = modules.master_plugin.status()
    assert result["is_master"] is False
    assert result["plugin_status"] is None
    assert "is not a salt-master" in result["reasons"][0]
    with pytest.raises(CommandExecutionError, match="no salt-master configuration at"):
        modules.master_plugin.sync()


def test_status_without_sseapi_server(modules, master_host):
    os.unlink(os.path.join(os.path.dirname(master_host["config"]), "master.d", "raas.conf"))
    result = modules.master_plugin.status()
    assert result["plugin_status"] == "cannot_update_reason_unknown"
    assert "sseapi_server is not set" in result["reasons"][0]
