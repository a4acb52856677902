"""Rollout planning and the fleet logic's reading of minion answers (a fake Salt in between)."""
import pytest
from salt.exceptions import SaltInvocationError

from saltext_masterplugin.core import fleet
from saltext_masterplugin.core import rollout
from saltext_masterplugin.output import master_plugin as outputter


@pytest.mark.parametrize(
    "masters, canary, batch, groups",
    [
        (["c", "a", "b", "d"], 1, "25%", [["a"], ["b"], ["c"], ["d"]]),
        (["a", "b", "c", "d", "e"], 1, 2, [["a"], ["b", "c"], ["d", "e"]]),
        (["a", "b", "c"], 0, "100%", [["a", "b", "c"]]),
        (["a", "b"], 5, 1, [["a", "b"]]),
        ([], 1, 1, []),
        (["a", "b", "c"], 1, "10%", [["a"], ["b"], ["c"]]),  # at least one per batch
    ],
)
def test_plan_groups(masters, canary, batch, groups):
    assert rollout.plan_groups(masters, canary, batch) == groups


@pytest.mark.parametrize("value, total, budget", [(0, 10, 0), ("10%", 10, 1), ("25%", 3, 0), (2, 3, 2)])
def test_failure_budget(value, total, budget):
    assert rollout.failure_budget(value, total) == budget


@pytest.mark.parametrize(
    "value, name", [("x%", "batch"), (-1, "batch"), ("150%", "max_failures"), (True, "batch"), (1.5, "batch")]
)
def test_bad_counts_name_the_argument(value, name):
    with pytest.raises(SaltInvocationError, match=name):
        rollout.check_count_or_percent(value, name)


class FakeIO:
    def __init__(self, expected, answers):
        self._expected = expected
        self.answers = answers
        self.published = []
        self.lines = []

    def expected(self, tgt, tgt_type):
        return self._expected

    def publish(self, tgt, tgt_type, fun, kwarg, timeout):
        self.published.append((tgt, fun, kwarg))
        return self.answers(tgt, fun, kwarg) if callable(self.answers) else self.answers

    def progress(self, message, tag, data):
        self.lines.append((message, tag))


def status_ret(status="needs_update", installed="8.16.0.24", **kw):
    return dict(
        is_master=True, master_id="m", plugin_status=status, installed_version=installed,
        running_version=installed, latest_version="8.18.3.6", salt_version="3008.4",
        last_update_jid=None, master_pid=10, reasons=[], **kw,
    )


def test_status_reads_every_kind_of_answer():
    io = FakeIO(
        ["a", "b", "c", "d", "e"],
        {
            "a": {"ret": status_ret()},
            "b": {"ret": {"is_master": False, "plugin_status": None, "reasons": ["no config"]}},
            "c": {"ret": "'master_plugin.status' is not available."},
            "d": {"ret": "Traceback: boom"},
        },
    )
    found = fleet.fleet_status(io, "*", "glob", 10)
    assert len(io.published) == 1  # one publish for the whole fleet
    assert found["masters"]["a"]["plugin_status"] == "needs_update"
    assert found["not_masters"] == {"b": "no config", "c": "the master_plugin module is not installed there"}
    assert found["masters"]["d"]["plugin_status"] == "cannot_update_reason_unknown"
    assert found["masters"]["e"]["plugin_status"] == "cannot_update_disconnected"
    assert found["no_answer"] == ["e"]
    assert found["counts"] == {
        "cannot_update_disconnected": 1, "cannot_update_reason_unknown": 1, "needs_update": 1
    }
    text = outputter.output(found)
    assert text.splitlines()[0].split() == [
        "MASTER", "STATUS", "INSTALLED", "RUNNING", "SALT", "LAST", "UPDATE", "JID", "REASONS"
    ]
    assert "not a master: b (no config)" in text
    assert "did not answer: e" in text


def test_plan_skips_and_blocks():
    found = {
        "masters": {
            "a": fleet.row_of(status_ret()),
            "b": fleet.row_of(status_ret("up_to_date", "8.18.3.6")),
            "c": fleet.row_of(status_ret("cannot_update_salt_old")),
            "d": fleet.row_of(status_ret("restarting", "8.18.3.6")),
        },
        "not_masters": {},
        "no_answer": [],
    }
    plan = fleet.plan(found, None, 1, 1)
    assert plan["groups"] == [["a"], ["d"]]
    assert plan["skipped"] == {"b": "up_to_date: runs 8.18.3.6"}
    assert list(plan["blocked"]) == ["c"]
    # A pinned version re-plans an up-to-date master that runs something else.
    assert fleet.plan(found, "8.16.0.24", 0, 10)["groups"] == [["b", "d"]]


def test_run_in_test_mode_publishes_only_status():
    io = FakeIO(["a", "b"], {"a": {"ret": status_ret()}, "b": {"ret": status_ret()}})
    report = fleet.run(io, "*", "glob", "1" * 20, test=True, batch=1)
    assert [p[1] for p in io.published] == ["master_plugin.status"]
    assert report["result"] is None
    assert report["plan"]["groups"] == [["a"], ["b"]]
    assert "Plan (test=True, nothing changed):" in outputter.output(report)


def test_a_silent_master_during_update_is_a_failure_and_stops_the_rollout():
    def answers(tgt, fun, kwarg):
        if fun == "master_plugin.status":
            return {m: {"ret": status_ret()} for m in (tgt if isinstance(tgt, list) else ["a", "b"])}
        return {}  # nobody answers the update

    io = FakeIO(["a", "b"], answers)
    report = fleet.run(io, "*", "glob", "1" * 20, canary=1, batch=1, health_timeout=1, timeout=1)
    assert report["summary"]["failed"] == ["a"]
    assert report["summary"]["not_attempted"] == ["b"]
    assert "did not answer within 1 s" in report["masters"]["a"]["messages"][0]
    assert report["result"] is False
    assert any(tag.endswith("/master/a") for _, tag in io.lines)
    assert any(tag.endswith("/done") for _, tag in io.lines)
    assert "FAILED" in outputter.output(report)
