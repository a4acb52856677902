"""Assertions and builders shared by the test tiers."""
import hashlib
import json
import os
import pathlib
import subprocess

import yaml

from saltext_masterplugin.testing.sample_wheels import CURRENT
from saltext_masterplugin.testing.sample_wheels import ROLLBACK
from saltext_masterplugin.testing.sample_wheels import wheel_filename

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
CURRENT_WHEEL = wheel_filename(CURRENT)
ROLLBACK_WHEEL = wheel_filename(ROLLBACK)


def sha256_of(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def assert_cache_verified(cache_dir, expect=None):
    """
    Every wheel in the cache hashes to its manifest entry, every manifest entry has its file,
    and no partial download is left behind.  ``expect``: the exact set of wheel names.
    Returns the set of wheel names found.
    """
    cache_dir = pathlib.Path(cache_dir)
    wheels = {p.name for p in cache_dir.glob("*.whl")} if cache_dir.exists() else set()
    leftovers = [p.name for p in cache_dir.glob(".partial-*")] if cache_dir.exists() else []
    assert not leftovers, f"partial downloads left in the cache: {leftovers}"
    manifest_path = cache_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())["wheels"] if manifest_path.exists() else {}
    assert set(manifest) == wheels, f"manifest {sorted(manifest)} != files {sorted(wheels)}"
    for name in wheels:
        data = (cache_dir / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == manifest[name]["sha256"], name
        assert len(data) == manifest[name]["size"], name
    if expect is not None:
        assert wheels == set(expect)
    return wheels


def write_master_config(root, raas_url, **extra):
    """
    A sandboxed salt-master configuration at ``root/etc/salt/master`` whose ``sseapi_*`` keys
    point at the RaaS double (in ``master.d/raas.conf``, where the plugin keeps them).
    Returns ``(config_path, cachedir)``.
    """
    root = pathlib.Path(root)
    etc = root / "etc" / "salt"
    (etc / "master.d").mkdir(parents=True, exist_ok=True)
    cachedir = root / "var" / "cache" / "salt" / "master"
    master = {
        "id": "sandbox_master",
        "root_dir": str(root),
        "cachedir": str(cachedir),
        "pki_dir": str(etc / "pki" / "master"),
        "log_file": str(root / "master.log"),
    }
    master.update(extra.pop("master", {}))
    raas = {
        "sseapi_server": raas_url,
        "sseapi_username": "root",
        "sseapi_password": "salt",
        "sseapi_config_name": "internal",
        "sseapi_ssl_validate_cert": False,
        "sseapi_timeout": 10,
    }
    raas.update(extra)
    (etc / "master").write_text(yaml.safe_dump(master))
    (etc / "master.d" / "raas.conf").write_text(yaml.safe_dump(raas))
    return str(etc / "master"), str(cachedir)


def plugin_cache_of(cachedir):
    return os.path.join(cachedir, "plugin_cache")


def imported_version(python):
    """The plugin version ``python`` imports (asked of it directly), or ``None``."""
    out = subprocess.run(
        [python, "-c", "import sseape; print(sseape.__version__)"],
        capture_output=True, text=True, check=False,
    )
    return out.stdout.strip() if out.returncode == 0 else None
