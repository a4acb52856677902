"""
The README can't drift: every ``salt``, ``salt-call`` and ``salt-run`` command in its shell
blocks names a function that exists, with arguments that function takes and values it accepts,
every ``make`` target exists, and every SLS it names is in ``examples/``.  (Commands of other
tools -- ``systemctl``, ``supervisorctl``, ``salt-pip``, ``salt-master`` -- are not checked.)
"""
import inspect
import pathlib
import re
import shlex

import pytest
import salt.utils.args

from saltext_masterplugin.core.arguments import version_arg
from saltext_masterplugin.modules import master_plugin as module
from saltext_masterplugin.runners import master_plugin as runner

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SALT_BUILTINS = {"state.apply", "state.orchestrate", "jobs.lookup_jid"}


def commands():
    found = []
    for block in re.findall(r"```bash\n(.*?)```", README, re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line:
                found.append(line)
    return found


def salt_commands():
    for line in commands():
        words = shlex.split(line)
        if words[0] == "salt-call":
            yield line, module, words[1], words[2:]
        elif words[0] == "salt":
            yield line, module, words[2], words[3:]
        elif words[0] == "salt-run":
            yield line, runner, words[1], words[2:]


def test_readme_has_commands():
    assert len(list(salt_commands())) >= 15


@pytest.mark.parametrize("line, loader_module, fun, args", list(salt_commands()))
def test_salt_command(line, loader_module, fun, args):
    if fun in SALT_BUILTINS:
        return
    mod, name = fun.split(".")
    assert mod == "master_plugin", line
    func = getattr(loader_module, name)
    params = inspect.signature(func).parameters
    for arg in args:
        key, _, value = arg.partition("=")
        assert key in params, f"{line}: {name} takes no {key}"
        parsed = salt.utils.args.yamlify_arg(value)
        if key == "version":
            assert version_arg(parsed) is not None, line


def test_make_targets_and_sls_exist():
    makefile = (ROOT / "Makefile").read_text()
    for line in commands():
        if line.startswith("make "):
            assert re.search(rf"^{line.split()[1]}:", makefile, re.M), line
        for sls in re.findall(r"state\.(?:apply|orchestrate) ([\w.]+)", line):
            assert (ROOT / "examples" / "sls" / (sls.replace(".", "/") + ".sls")).exists(), line
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "make test" in README
