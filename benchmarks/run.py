"""
Benchmarks: each figure is a ratio against a baseline measured in the same run, as the median of
several runs (these machines are shared and noisy).  Never a test: it prints a table and writes
JSON, and never fails on a missed target.

    make bench                      # or: .venv/bin/python benchmarks/run.py --json benchmarks/results.json

P1  sync of a 50 MB and a 200 MB wheel      vs  curl -o of the same URL (throughput; RSS growth)
P2  update when already up to date          vs  status
P3  install of a cached wheel, to verified  vs  bare pip install --no-deps --no-index <wheel>
P4  runner status over 4, 8, 16 minions      vs  salt -L ... test.ping over the same minions
P5  runner update over 8 masters, batch 4   vs  the same update on one master (x 2 batches)
P6  salt-master unavailability of an update vs  a plain supervisorctl restart of the same master
"""
import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from saltext_masterplugin.testing.raas_double import RaasDouble  # noqa: E402
from saltext_masterplugin.testing.sample_wheels import CURRENT  # noqa: E402
from saltext_masterplugin.testing.sample_wheels import ROLLBACK  # noqa: E402
from saltext_masterplugin.testing.sample_wheels import build_wheel  # noqa: E402
from saltext_masterplugin.testing.supervised_master import SupervisedMaster  # noqa: E402
from saltext_masterplugin.testing.supervised_master import bin_path  # noqa: E402

MB = 1000 * 1000
SYNC_CHILD = r"""
import json, sys, threading, time
import psutil
from saltext_masterplugin.core.api import MasterHost
opts = json.loads(sys.argv[1])
host = MasterHost(opts)
proc = psutil.Process()
before = proc.memory_info().rss
peak = [before]
done = threading.Event()
def sample():
    while not done.is_set():
        peak[0] = max(peak[0], proc.memory_info().rss)
        time.sleep(0.005)
sampler = threading.Thread(target=sample)
sampler.start()
start = time.perf_counter()
host.sync()
elapsed = time.perf_counter() - start
done.set()
sampler.join()
print(json.dumps({"seconds": elapsed, "rss_growth_kib": (peak[0] - before) / 1024}))
"""


def median(values):
    return statistics.median(values)


def master_opts(raas, cachedir, **extra):
    return dict(
        {"id": "bench_master", "cachedir": cachedir, "sseapi_server": raas.url,
         "sseapi_username": "root", "sseapi_password": "salt", "sseapi_timeout": 120,
         "pidfile": os.path.join(cachedir, "none.pid")},
        **extra,
    )


def p1(work, runs, wheels=None):  # pylint: disable=unused-argument
    rows = []
    for size in (50, 200):
        wheel = build_wheel(os.path.join(work, f"p1-{size}"), CURRENT, payload_size=size * MB)
        nbytes = os.path.getsize(wheel)
        ours, curls, rss = [], [], []
        with RaasDouble(users={"root": "salt"}) as raas:
            raas.add_plugin("current", wheel)
            jwt = raas.issue_jwt()
            url = f"{raas.url}/static/master_plugins/{os.path.basename(wheel)}"
            for run in range(runs):
                cachedir = tempfile.mkdtemp(dir=work)
                out = subprocess.run(
                    [sys.executable, "-c", SYNC_CHILD, json.dumps(master_opts(raas, cachedir))],
                    capture_output=True, text=True, check=True,
                )
                result = json.loads(out.stdout.strip().splitlines()[-1])
                ours.append(result["seconds"])
                rss.append(result["rss_growth_kib"] / 1024)
                target = os.path.join(cachedir, "curl.whl")
                start = time.perf_counter()
                subprocess.run(
                    ["curl", "-sS", "-o", target, "-H", f"Authorization: JWT {jwt}", url],
                    check=True,
                )
                curls.append(time.perf_counter() - start)
                subprocess.run(["rm", "-rf", cachedir], check=True)
        ours_tp = nbytes / median(ours) / MB
        curl_tp = nbytes / median(curls) / MB
        rows.append({
            "id": f"P1-{size}MB", "what": f"sync of a {size} MB wheel",
            "ours": f"{ours_tp:.0f} MB/s", "baseline": f"curl {curl_tp:.0f} MB/s",
            "ratio": ours_tp / curl_tp, "target": ">= 0.8x throughput, RSS growth <= 32 MiB",
            "extra": f"RSS growth {median(rss):.1f} MiB",
            "met": ours_tp / curl_tp >= 0.8 and max(rss) <= 32,
        })
    return rows


def make_env(work, name, wheel):
    root = os.path.join(work, name)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", root], check=True)
    python = os.path.join(root, "bin", "python")
    if wheel:
        subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "-q",
                        "--no-index", "--no-deps", wheel], check=True)
    return python


def p2(work, runs, wheels):
    from saltext_masterplugin.core.api import MasterHost  # pylint: disable=import-outside-toplevel
    from saltext_masterplugin.core.update import Update  # pylint: disable=import-outside-toplevel

    python = make_env(work, "p2-env", wheels["current"])
    with RaasDouble(users={"root": "salt"}) as raas:
        raas.add_plugin("current", wheels["current"])
        raas.add_plugin("rollback", wheels["rollback"])
        opts = master_opts(raas, tempfile.mkdtemp(dir=work),
                           master_plugin={"python": python, "restart": "none"})
        host = MasterHost(opts)
        host.sync()
        downloads = len(raas.downloads())
        updates, statuses = [], []
        for _ in range(runs):
            start = time.perf_counter()
            ret = Update(host, "2" * 20).run(None)
            updates.append(time.perf_counter() - start)
            assert ret["plugin_status"] == "up_to_date", ret
            start = time.perf_counter()
            host.status()
            statuses.append(time.perf_counter() - start)
        fetched = len(raas.downloads()) - downloads
    ratio = median(updates) / median(statuses)
    return [{
        "id": "P2", "what": "update when already up to date",
        "ours": f"{median(updates) * 1000:.0f} ms", "baseline": f"status {median(statuses) * 1000:.0f} ms",
        "ratio": ratio, "target": "no bytes fetched, no pip run, <= 1.2x status",
        "extra": f"{fetched} downloads", "met": ratio <= 1.2 and fetched == 0,
    }]


def p3(work, runs, wheels):
    from saltext_masterplugin.core import installer  # pylint: disable=import-outside-toplevel

    cache = os.path.join(work, "p3-cache")
    os.makedirs(cache)
    wheel = os.path.join(cache, os.path.basename(wheels["current"]))
    subprocess.run(["cp", wheels["current"], wheel], check=True)
    ours, bare = [], []
    for run in range(runs):
        python = make_env(work, f"p3-ours-{run}", wheels["rollback"])
        start = time.perf_counter()
        installer.install(python, "SSEAPE", wheel, CURRENT, cache, has_pip=False)
        ours.append(time.perf_counter() - start)
        python = make_env(work, f"p3-bare-{run}", wheels["rollback"])
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "-q",
                        "--no-deps", "--no-index", wheel], check=True)
        bare.append(time.perf_counter() - start)
    ratio = median(ours) / median(bare)
    return [{
        "id": "P3", "what": "install of a cached wheel, to verified",
        "ours": f"{median(ours) * 1000:.0f} ms", "baseline": f"bare pip {median(bare) * 1000:.0f} ms",
        "ratio": ratio, "target": "<= 1.0x", "extra": "includes reading the version back",
        "met": ratio <= 1.0,
    }]


def unavailable(port, stop, gaps):
    """Record the longest time the master's ret port refused connections."""
    down_since = None
    longest = 0.0
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                pass
            if down_since is not None:
                longest = max(longest, time.perf_counter() - down_since)
                down_since = None
        except OSError:
            if down_since is None:
                down_since = time.perf_counter()
        time.sleep(0.02)
    gaps.append(longest)


def p6(work, runs, wheels):
    import yaml  # pylint: disable=import-outside-toplevel

    from saltext_masterplugin.core.api import MasterHost  # pylint: disable=import-outside-toplevel
    from saltext_masterplugin.core.api import load_master_opts  # pylint: disable=import-outside-toplevel
    from saltext_masterplugin.core.restart import Restarter  # pylint: disable=import-outside-toplevel
    from saltext_masterplugin.core.update import Update  # pylint: disable=import-outside-toplevel

    ours, plain = [], []
    with RaasDouble(users={"root": "salt"}) as raas:
        raas.add_plugin("current", wheels["current"])
        raas.add_plugin("rollback", wheels["rollback"])
        for run in range(runs):
            host = SupervisedMaster(os.path.join(work, f"p6-{run}"), raas.url, wheels["rollback"])
            host.build()
            with open(host.config_file, encoding="utf-8") as fh:
                port = yaml.safe_load(fh)["ret_port"]
            host.start()
            try:
                ctl = [bin_path("supervisorctl"), "-c", host.supervisord_conf, "restart",
                       "salt-master"]
                for label, action in (
                    ("plain", lambda: subprocess.run(ctl, check=True, capture_output=True)),
                    ("ours", lambda: _update(host, MasterHost, load_master_opts, Restarter, Update)),
                ):
                    time.sleep(1)
                    stop, gaps = threading.Event(), []
                    watcher = threading.Thread(target=unavailable, args=(port, stop, gaps))
                    watcher.start()
                    action()
                    _wait_port(port)
                    time.sleep(0.3)
                    stop.set()
                    watcher.join()
                    (ours if label == "ours" else plain).append(gaps[0])
            finally:
                host.remove()
    ratio = median(ours) / median(plain)
    return [{
        "id": "P6", "what": "salt-master unavailability during an update",
        "ours": f"{median(ours):.2f} s", "baseline": f"supervisorctl restart {median(plain):.2f} s",
        "ratio": ratio, "target": "<= 1.2x", "extra": "", "met": ratio <= 1.2,
    }]


def _wait_port(port, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)


def _update(host, master_host, load_master_opts, restarter_cls, update_cls):
    import salt.loader  # pylint: disable=import-outside-toplevel

    mhost = master_host(load_master_opts(host.config_file))
    funcs = salt.loader.minion_mods(mhost.opts)
    restarter = restarter_cls(
        "supervisord",
        {n: funcs[n] for n in ("supervisord.status", "supervisord.restart")},
        mhost.settings.restart_options, mhost.pidfile,
    )
    ret = update_cls(mhost, "6" * 20, restarter).run(None)
    assert ret["plugin_status"] == "up_to_date", ret


def _timed(argv):
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def p4(work, runs, wheels):
    from saltext_masterplugin.testing.demo import Demo  # pylint: disable=import-outside-toplevel

    rows = []
    demo = Demo(16, keep=False)
    try:
        demo.start_raas()
        demo.start_manager()
        demo.start_hosts(running_masters=False)
        for n in (4, 8, 16):
            ids = ",".join(f"host{i:02d}" for i in range(1, n + 1))
            pings, statuses = [], []
            for _ in range(runs):
                pings.append(_timed([bin_path("salt"), "-c", demo.conf, "-L", ids, "test.ping",
                                     "--out=quiet"]))
                statuses.append(_timed([bin_path("salt-run"), "-c", demo.conf, "master_plugin.status",
                                        f"tgt={ids}", "tgt_type=list", "--out=quiet"]))
            ratio = median(statuses) / median(pings)
            rows.append({
                "id": f"P4-{n}", "what": f"runner status over {n} minions",
                "ours": f"{median(statuses):.2f} s", "baseline": f"test.ping {median(pings):.2f} s",
                "ratio": ratio, "target": "<= 1.5x (one publish)", "extra": "",
                "met": ratio <= 1.5,
            })
    finally:
        demo.stop()
    return rows


def p5(work, runs, wheels):
    from saltext_masterplugin.testing.demo import Demo  # pylint: disable=import-outside-toplevel

    demo = Demo(9, keep=False)
    try:
        demo.start_raas()
        demo.start_manager()
        demo.start_hosts()
        run = [bin_path("salt-run"), "-c", demo.conf, "master_plugin.update", "tgt_type=list",
               "canary=0", "--out=quiet"]
        one = _timed(run + ["tgt=host9", "batch=1"])
        eight = _timed(run + [f"tgt={','.join(f'host{i}' for i in range(1, 9))}", "batch=4"])
        updated = sum(1 for h in demo.masters if (h.running() or {}).get("version") == CURRENT)
    finally:
        demo.stop()
    ratio = eight / (2 * one)
    return [{
        "id": "P5", "what": "runner update over 8 masters, batch 4 (one run)",
        "ours": f"{eight:.1f} s", "baseline": f"one master {one:.1f} s",
        "ratio": ratio, "target": "<= 1.3x of 2 x one master",
        "extra": f"{updated}/9 masters run {CURRENT} afterwards", "met": ratio <= 1.3,
    }]


def table(rows):
    header = ["id", "what", "ours", "baseline", "ratio", "target", "met", "notes"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append(
            f"| {row['id']} | {row['what']} | {row['ours']} | {row['baseline']} | "
            f"{row['ratio']:.2f}x | {row['target']} | {'yes' if row['met'] else 'NO'} | {row['extra']} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", nargs="*", default=["P1", "P2", "P3", "P4", "P5", "P6"])
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    work = tempfile.mkdtemp(prefix="mp-bench-")
    wheels = {"current": build_wheel(os.path.join(work, "w"), CURRENT),
              "rollback": build_wheel(os.path.join(work, "w"), ROLLBACK)}
    rows = []
    try:
        for name, func, runs in (("P1", p1, max(3, args.runs // 2)), ("P2", p2, args.runs),
                                 ("P3", p3, args.runs), ("P4", p4, 3), ("P5", p5, 1),
                                 ("P6", p6, max(3, args.runs // 2))):
            if name in args.only:
                print(f"running {name} ...", file=sys.stderr, flush=True)
                rows += func(work, runs, wheels)
    finally:
        subprocess.run(["rm", "-rf", work], check=False)
    machine = f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"Benchmarks on {machine}, medians of several runs\n")
    print(table(rows))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"machine": machine, "time": time.strftime("%Y-%m-%d %H:%M"), "rows": rows},
                      fh, indent=2)


if __name__ == "__main__":
    main()
