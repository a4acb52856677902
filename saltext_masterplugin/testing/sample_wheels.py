"""
Build sample master-plugin wheels, named and versioned like the real ones
(``SSEAPE-8.16.0.24-py3-none-any.whl``), with valid wheel metadata.

The wheel carries the package ``sseape`` (``__version__``) and a small salt-master engine,
``sseape_probe``, found through ``engines_dirs``; when a salt-master loads it, it writes which
plugin version that live master runs into a JSON file, so a test can ask the running version of
the real process rather than what is on disk.
"""
import base64
import hashlib
import os
import zipfile

PROJECT = "SSEAPE"
PACKAGE = "sseape"
CURRENT = "8.18.3.6"
ROLLBACK = "8.16.0.24"

_INIT = '''"""Sample SaltStack Config master plugin (test double)."""
import os

__version__ = "{version}"


def engines_dirs():
    """Where the plugin's salt-master engines live (for ``engines_dirs``)."""
    return [os.path.join(os.path.dirname(__file__), "engines")]
'''

# The engine the sample plugin ships.  It reports the plugin version this salt-master process
# imported at start, then idles like a real engine.
_ENGINE = '''"""Report which plugin version the live salt-master loaded."""
import json
import os
import time

import sseape

__virtualname__ = "sseape_probe"


def __virtual__():
    return __virtualname__


def start(report_file=None, interval=5):
    report_file = report_file or os.path.join(__opts__["cachedir"], "sseape_running.json")
    record = {{
        "version": sseape.__version__,
        "module_file": sseape.__file__,
        "engine_pid": os.getpid(),
        "master_pid": os.getppid(),
        "started": time.time(),
        "build": "{build_tag}",
    }}
    tmp = report_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(record, fh)
    os.replace(tmp, report_file)
    while True:
        time.sleep(interval)
'''


def _record_hash(data):
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def wheel_filename(version, project=PROJECT):
    return f"{project}-{version}-py3-none-any.whl"


def build_wheel(dest_dir, version, project=PROJECT, broken=False, build_tag="", payload_size=0):
    """
    Write a sample plugin wheel for ``version`` into ``dest_dir`` and return its path.

    ``broken=True`` writes a wheel that downloads and verifies fine but that pip refuses to
    install (it declares an unsupported ``Wheel-Version``).  ``payload_size`` adds that many
    random (incompressible) bytes, for benchmarks of large downloads.
    """
    os.makedirs(dest_dir, exist_ok=True)
    dist_info = f"{project}-{version}.dist-info"
    files = {
        f"{PACKAGE}/__init__.py": _INIT.format(version=version).encode(),
        f"{PACKAGE}/engines/__init__.py": b"",
        f"{PACKAGE}/engines/sseape_probe.py": _ENGINE.format(build_tag=build_tag).encode(),
        f"{dist_info}/METADATA": (
            "Metadata-Version: 2.1\n"
            f"Name: {project}\n"
            f"Version: {version}\n"
            "Summary: Sample SaltStack Config master plugin (test double)\n"
        ).encode(),
        f"{dist_info}/WHEEL": (
            f"Wheel-Version: {'9.0' if broken else '1.0'}\n"
            "Generator: saltext_masterplugin.testing\n"
            "Root-Is-Purelib: true\n"
            "Tag: py3-none-any\n"
        ).encode(),
        f"{dist_info}/top_level.txt": f"{PACKAGE}\n".encode(),
    }
    if payload_size:
        files[f"{PACKAGE}/payload.bin"] = os.urandom(payload_size)
    record_lines = []
    for name, data in files.items():
        digest = _record_hash(data)
        record_lines.append(f"{name},{digest},{len(data)}")
    record_lines.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record_lines) + "\n").encode()
    path = os.path.join(dest_dir, wheel_filename(version, project))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if name.endswith(".bin") else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return path
