"""``make demo``'s program: it shows a real update and leaves nothing behind, even on Ctrl-C."""
import os
import re
import signal
import subprocess
import sys
import time

import pytest

pytestmark = [pytest.mark.slow]

DEMO = [sys.executable, "-m", "saltext_masterplugin.testing.demo", "--hosts", "2"]


def leftovers(root):
    out = subprocess.run(["pgrep", "-f", root], capture_output=True, text=True, check=False)
    return out.stdout.split()


def test_demo_runs_and_cleans_up():
    proc = subprocess.run(DEMO, capture_output=True, text=True, timeout=600, check=False)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    root = re.search(r"^Sandbox: (\S+)$", out, re.M).group(1)
    assert "$ salt-run -c" in out and "master_plugin.update tgt='host*' batch=1" in out
    assert re.search(r"^host1\s+needs_update\s+8\.16\.0\.24\s+8\.16\.0\.24", out, re.M)
    assert re.search(r"^host2\s+up_to_date\s+8\.18\.3\.6\s+8\.18\.3\.6\s+3008\.4\s+\d{20}", out, re.M)
    assert "master1: plugin 8.18.3.6" in out and "master2: plugin 8.18.3.6" in out
    assert re.search(r"master2\s+up_to_date\s+last_update_jid=\d{20}", out)
    assert "Stopped every process the demo started." in out
    assert not os.path.exists(root)
    assert leftovers(root) == []


def test_demo_interrupted_cleans_up():
    proc = subprocess.Popen(DEMO, stdout=subprocess.PIPE, text=True)
    root = None
    deadline = time.monotonic() + 300
    lines = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if line.startswith("Sandbox: "):
            root = line.split()[1]
        if "master hosts" in line:
            break
    assert root, "".join(lines)
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, "".join(lines) + rest
    assert "Interrupted." in rest and "Stopped every process the demo started." in rest
    assert not os.path.exists(root)
    time.sleep(1)
    assert leftovers(root) == []
