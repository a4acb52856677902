"""
A fleet of salt-masters, reached through the salt-minions on their hosts.

The functions here take a ``io`` object from the runner (the loader glue), with:

* ``expected(tgt, tgt_type)`` -- the minion ids the target matches;
* ``publish(tgt, tgt_type, fun, kwarg, timeout)`` -- one Salt publish, answering
  ``{minion: {"ret": ..., "retcode": n}}`` for the minions that answered;
* ``progress(message, tag, data)`` -- a progress line and a bus event.

Salt does the distributing (publish/return, syndics); this module decides what to publish and
what the answers mean.
"""
import logging
import time

from salt.exceptions import SaltInvocationError

from saltext_masterplugin.core import rollout
from saltext_masterplugin.core import status as S

log = logging.getLogger(__name__)

# How often the health gate asks the restarted masters for their status.
HEALTH_POLL_INTERVAL = 2
# A restarted master in one of these states has not proved itself (a pinned older version
# legitimately reads needs_update).
UNHEALTHY = (S.RESTARTING, S.UPGRADE_FAILED, S.UPGRADING)
SUMMARY_KEYS = ("updated", "failed", "restart_pending", "skipped", "blocked", "not_attempted")


def row_of(ret):
    """The columns of the fleet table, from one ``master_plugin.status`` answer."""
    return {
        "master_id": ret.get("master_id"),
        "plugin_status": ret.get("plugin_status"),
        "installed_version": ret.get("installed_version"),
        "running_version": ret.get("running_version"),
        "latest_version": ret.get("latest_version"),
        "salt_version": ret.get("salt_version"),
        "last_update_jid": ret.get("last_update_jid"),
        "master_pid": ret.get("master_pid"),
        "reasons": ret.get("reasons") or [],
    }


def collect_status(io, tgt, tgt_type, timeout):
    """
    One publish of ``master_plugin.status``; returns ``{"masters": {id: row}, "not_masters":
    {id: why}, "no_answer": [ids]}``.  Minions that did not answer are listed as masters with
    ``cannot_update_disconnected``.
    """
    expected = set(io.expected(tgt, tgt_type))
    if not expected:
        raise SaltInvocationError(f"tgt={tgt!r} (tgt_type={tgt_type}) matches no minion")
    answers = io.publish(tgt, tgt_type, "master_plugin.status", {}, timeout)
    masters, not_masters, no_answer = {}, {}, []
    for minion in sorted(expected | set(answers)):
        if minion not in answers:
            no_answer.append(minion)
            masters[minion] = dict(
                row_of({}),
                plugin_status=S.CANNOT_UPDATE_DISCONNECTED,
                reasons=[f"its salt-minion did not answer within {timeout} s"],
            )
            continue
        ret = answers[minion].get("ret")
        if isinstance(ret, dict) and ret.get("is_master") is False:
            not_masters[minion] = "; ".join(ret.get("reasons") or ["not a salt-master host"])
        elif isinstance(ret, dict):
            masters[minion] = row_of(ret)
        elif isinstance(ret, str) and "is not available" in ret:
            not_masters[minion] = "the master_plugin module is not installed there"
        else:
            masters[minion] = dict(
                row_of({}),
                plugin_status=S.CANNOT_UPDATE_REASON_UNKNOWN,
                reasons=[f"master_plugin.status failed: {str(ret)[-300:]}"],
            )
    return {"masters": masters, "not_masters": not_masters, "no_answer": no_answer}


def counts_of(masters):
    counts = {}
    for row in masters.values():
        counts[row["plugin_status"]] = counts.get(row["plugin_status"], 0) + 1
    return dict(sorted(counts.items()))


def fleet_status(io, tgt, tgt_type, timeout):
    """The fleet at a glance: per master rows, counts by status, non-masters, silent minions."""
    found = collect_status(io, tgt, tgt_type, timeout)
    found["counts"] = counts_of(found["masters"])
    return found


def _needs(row, version):
    status = row["plugin_status"]
    if status.startswith("cannot_update"):
        return False
    if version is not None:
        return not (row["installed_version"] == version and row["running_version"] == version)
    return status in (S.NEEDS_UPDATE, S.RESTARTING, S.UPGRADE_FAILED)


def plan(found, version, canary, batch):
    """Which masters to update (in groups), which to skip and why."""
    todo, skipped, blocked = [], {}, {}
    for minion, row in found["masters"].items():
        if row["plugin_status"].startswith("cannot_update"):
            blocked[minion] = {"plugin_status": row["plugin_status"], "reasons": row["reasons"]}
        elif _needs(row, version):
            todo.append(minion)
        else:
            skipped[minion] = (
                f"{row['plugin_status']}: runs {row['running_version']}"
                if row["running_version"]
                else row["plugin_status"]
            )
    return {
        "groups": rollout.plan_groups(todo, canary, batch),
        "skipped": skipped,
        "blocked": blocked,
        "not_masters": found["not_masters"],
        "no_answer": found["no_answer"],
    }


class Rollout:
    """One fleet update; see :func:`run`."""

    def __init__(self, io, jid, version, health_timeout, rollback, timeout):
        self.io = io
        self.jid = jid
        self.version = version
        self.health_timeout = health_timeout
        self.rollback = rollback
        self.timeout = timeout
        self.results = {}

    def tag(self, *parts):
        return "/".join(("salt/master_plugin/update", str(self.jid)) + tuple(str(p) for p in parts))

    def update_group(self, group):
        kwarg = {"version": self.version} if self.version else {}
        started = time.monotonic()
        answers = self.io.publish(group, "list", "master_plugin.update", kwarg, self.timeout)
        seconds = round(time.monotonic() - started, 1)
        gate = {}
        for minion in group:
            ret = (answers.get(minion) or {}).get("ret")
            if not isinstance(ret, dict):
                reason = (
                    f"did not answer within {self.timeout} s"
                    if minion not in answers
                    else f"master_plugin.update failed: {str(ret)[-300:]}"
                )
                self.results[minion] = self.entry(None, None, False, None, None, seconds, [reason])
                continue
            entry = self.entry(
                ret.get("old"), ret.get("new"), ret.get("result"), ret.get("plugin_status"),
                ret.get("jid"), seconds, ret.get("messages"),
            )
            restart = ret.get("restart") or {}
            if ret.get("result") and (restart.get("done") or restart.get("detached")):
                entry["outcome"] = "health"
                gate[minion] = (restart.get("pid_after"), restart.get("pid_before"))
            elif ret.get("plugin_status") == S.RESTARTING and restart.get("required"):
                entry["outcome"] = "restart_pending"
                entry["restart_how"] = restart.get("how")
            elif str(ret.get("plugin_status", "")).startswith("cannot_update"):
                entry["outcome"] = "blocked"
            elif ret.get("result"):
                entry["outcome"] = "updated"
            self.results[minion] = entry
        if gate:
            self.health_gate(gate, started)

    @staticmethod
    def entry(old, new, result, plugin_status, jid, seconds, messages):
        return {
            "old": old,
            "new": new,
            "result": bool(result),
            "plugin_status": plugin_status,
            "jid": jid,
            "seconds": seconds,
            "rolled_back": False,
            "outcome": "failed",
            "messages": list(messages or [])[-5:],
        }

    @staticmethod
    def restarted(pid, pid_after, pid_before):
        """The live master is the restarted one: the pid the restart reported, else a new one."""
        if pid_after:
            return pid == pid_after
        return pid != pid_before

    def health_gate(self, gate, started):
        """
        Wait until every master in ``gate`` is back (a live salt-master, another pid than before
        the restart when known), answers, and runs its new version.
        """
        deadline = time.monotonic() + self.health_timeout
        waiting = dict(gate)
        last = {}
        while waiting:
            found = collect_status(self.io, list(waiting), "list", min(30, self.health_timeout))
            for minion in list(waiting):
                row = found["masters"].get(minion)
                last[minion] = row
                want = self.results[minion]["new"]
                if (
                    row
                    and row["master_pid"]
                    and row["running_version"] == want
                    and row["plugin_status"] not in UNHEALTHY
                    and not row["plugin_status"].startswith("cannot_update")
                    and self.restarted(row["master_pid"], *waiting[minion])
                ):
                    self.results[minion]["outcome"] = "updated"
                    self.results[minion]["seconds"] = round(time.monotonic() - started, 1)
                    del waiting[minion]
            if not waiting or time.monotonic() >= deadline:
                break
            time.sleep(HEALTH_POLL_INTERVAL)
        for minion in waiting:
            row = last.get(minion) or {}
            entry = self.results[minion]
            entry["result"] = False
            entry["outcome"] = "failed"
            entry["plugin_status"] = row.get("plugin_status") or S.UPGRADE_FAILED
            entry["messages"].append(
                f"failed the health gate within {self.health_timeout} s: running "
                f"{row.get('running_version')}, status {row.get('plugin_status')}, "
                + "; ".join(row.get("reasons") or [])
            )

    def roll_back(self, failed):
        """Put the failed masters back on their previous version; note who is back."""
        wanted = {m: self.results[m]["old"] for m in failed if self.results[m]["old"]}
        if self.rollback:
            for minion, old in wanted.items():
                # The update restored the old plugin itself when the install failed; only a
                # master that took the new one and then failed its gate needs rolling back.
                if self.results[minion]["plugin_status"] == S.UPGRADE_FAILED:
                    continue
                answers = self.io.publish(
                    [minion], "list", "master_plugin.update",
                    {"version": old, "allow_downgrade": True}, self.timeout,
                )
                ret = (answers.get(minion) or {}).get("ret")
                ok = isinstance(ret, dict) and ret.get("result")
                self.results[minion]["messages"].append(
                    f"rolled back to {old}" if ok else f"rollback to {old} failed: {ret}"
                )
        if wanted:
            found = collect_status(self.io, list(wanted), "list", 30)
            for minion, old in wanted.items():
                row = found["masters"].get(minion) or {}
                self.results[minion]["rolled_back"] = (
                    row.get("installed_version") == old and row.get("running_version") in (old, None)
                )
                self.results[minion]["plugin_status"] = row.get("plugin_status") or self.results[
                    minion
                ]["plugin_status"]

    def report(self, minion):
        entry = self.results[minion]
        line = {
            "updated": f"{minion}: {entry['old']} -> {entry['new']}, healthy ({entry['seconds']} s)",
            "restart_pending": (
                f"{minion}: {entry['new']} installed, restart pending: {entry.get('restart_how')}"
            ),
            "blocked": f"{minion}: not updated ({entry['plugin_status']})",
        }.get(
            entry["outcome"],
            f"{minion}: FAILED ({entry['plugin_status']})"
            + (", rolled back to " + str(entry["old"]) if entry["rolled_back"] else "")
            + (": " + entry["messages"][-1] if entry["messages"] else ""),
        )
        self.io.progress(line, self.tag("master", minion), dict(entry, minion=minion))


def run(io, tgt, tgt_type, jid, version=None, batch="25%", canary=1, max_failures=0,
        health_timeout=300, rollback=True, test=False, timeout=None):
    """
    Update a fleet: plan, then the canary group, then batches, each finished (updated and
    health-gated) before the next; stop when failures exceed the budget.  Returns the report.
    """
    timeout = timeout or health_timeout + 120
    found = collect_status(io, tgt, tgt_type, min(timeout, 60))
    the_plan = plan(found, version, canary, batch)
    planned = [m for group in the_plan["groups"] for m in group]
    budget = rollout.failure_budget(max_failures, len(planned))
    report = {
        "jid": jid,
        "test": bool(test),
        "plan": dict(the_plan, failure_budget=budget),
        "masters": {},
        "summary": {},
    }
    if test:
        report["summary"] = {"would_update": planned, **{k: [] for k in SUMMARY_KEYS}}
        report["result"] = None
        return report

    job = Rollout(io, jid, version, health_timeout, rollback, timeout)
    io.progress(
        f"Updating {len(planned)} master(s) in {len(the_plan['groups'])} group(s); "
        f"{len(the_plan['skipped'])} up to date, {len(the_plan['blocked'])} cannot be updated",
        job.tag("start"), {"plan": the_plan},
    )
    failures = 0
    stopped = None
    for index, group in enumerate(the_plan["groups"], 1):
        name = "canary" if index == 1 and canary else f"batch {index}"
        io.progress(f"{name}: {', '.join(group)}", job.tag("batch", index), {"masters": group})
        job.update_group(group)
        failed = [m for m in group if job.results[m]["outcome"] == "failed"]
        if failed:
            job.roll_back(failed)
        for minion in group:
            job.report(minion)
        failures += len(failed)
        io.progress(
            f"{name} done: {len(group) - len(failed)} ok, {len(failed)} failed "
            f"(failures {failures}, budget {budget})",
            job.tag("batch", index, "done"), {"failed": failed},
        )
        if failures > budget:
            stopped = f"stopped after {name}: {failures} failure(s) exceed max_failures={budget}"
            break

    results = job.results
    summary = {key: [] for key in SUMMARY_KEYS}
    for minion, entry in sorted(results.items()):
        key = {"updated": "updated", "restart_pending": "restart_pending", "blocked": "blocked"}
        summary[key.get(entry["outcome"], "failed")].append(minion)
    summary["skipped"] = sorted(the_plan["skipped"])
    summary["blocked"] = sorted(set(summary["blocked"]) | set(the_plan["blocked"]))
    summary["not_attempted"] = [m for m in planned if m not in results]
    summary["stopped"] = stopped
    report["masters"] = results
    report["summary"] = summary
    report["result"] = not summary["failed"]
    io.progress(
        f"Done: {len(summary['updated'])} updated, {len(summary['failed'])} failed, "
        f"{len(summary['restart_pending'])} restart pending, {len(summary['not_attempted'])} "
        "not attempted" + (f"; {stopped}" if stopped else ""),
        job.tag("done"), summary,
    )
    return report
