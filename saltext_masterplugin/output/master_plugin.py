"""
Terminal output for ``salt-run master_plugin.status`` and ``master_plugin.update``: one line per
master, then the counts.  ``--out json``, ``yaml`` or ``table`` still give the raw data.
"""
__virtualname__ = "master_plugin"


def __virtual__():
    return __virtualname__


def _table(header, rows):
    rows = [[str("-" if cell in (None, "") else cell) for cell in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    return lines


def _status(data):
    masters = data.get("masters") or {}
    rows = [
        [
            minion,
            row.get("plugin_status"),
            row.get("installed_version"),
            row.get("running_version"),
            row.get("salt_version"),
            row.get("last_update_jid"),
            "; ".join(row.get("reasons") or []),
        ]
        for minion, row in sorted(masters.items())
    ]
    lines = _table(
        ["MASTER", "STATUS", "INSTALLED", "RUNNING", "SALT", "LAST UPDATE JID", "REASONS"], rows
    ) if rows else ["no masters"]
    counts = data.get("counts") or {}
    lines.append("")
    lines.append(
        f"{len(masters)} master(s): "
        + (", ".join(f"{k} {v}" for k, v in counts.items()) or "none")
    )
    for minion, why in sorted((data.get("not_masters") or {}).items()):
        lines.append(f"not a master: {minion} ({why})")
    if data.get("no_answer"):
        lines.append("did not answer: " + ", ".join(data["no_answer"]))
    return lines


def _update(data):
    summary = data.get("summary") or {}
    plan = data.get("plan") or {}
    lines = []
    if data.get("test"):
        lines.append("Plan (test=True, nothing changed):")
        for index, group in enumerate(plan.get("groups") or [], 1):
            lines.append(f"  group {index}: {', '.join(group)}")
    masters = data.get("masters") or {}
    if masters:
        rows = [
            [
                minion,
                entry.get("outcome", "updated" if entry.get("result") else "failed"),
                f"{entry.get('old')} -> {entry.get('new')}",
                entry.get("plugin_status"),
                entry.get("seconds"),
                "yes" if entry.get("rolled_back") else "",
                entry.get("jid"),
            ]
            for minion, entry in sorted(masters.items())
        ]
        lines += _table(
            ["MASTER", "OUTCOME", "VERSION", "STATUS", "SECONDS", "ROLLED BACK", "JID"], rows
        )
    for minion, why in sorted((plan.get("skipped") or {}).items()):
        lines.append(f"skipped: {minion} ({why})")
    for minion, row in sorted((plan.get("blocked") or {}).items()):
        lines.append(f"cannot update: {minion} ({row['plugin_status']}: {'; '.join(row['reasons'])})")
    for minion, why in sorted((plan.get("not_masters") or {}).items()):
        lines.append(f"not a master: {minion} ({why})")
    if summary.get("not_attempted"):
        lines.append("never attempted: " + ", ".join(summary["not_attempted"]))
    if summary.get("stopped"):
        lines.append(summary["stopped"])
    verdict = {True: "OK", False: "FAILED", None: "PLAN"}.get(data.get("result"), "")
    lines.append(f"Result: {verdict}")
    return lines


def output(data, **kwargs):  # pylint: disable=unused-argument
    if not isinstance(data, dict):
        return str(data)
    if set(data) == {"suffix", "event"} and isinstance(data["event"], dict):
        return str(data["event"].get("message", data["event"]))  # a progress line
    if "summary" in data or "plan" in data or "test" in data:
        return "\n".join(_update(data))
    if "counts" in data:
        return "\n".join(_status(data))
    return str(data)
