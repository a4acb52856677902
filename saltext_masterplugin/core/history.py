"""
The update history of one master: an append-only JSON-lines file in the plugin cache folder.

Each record is one line written with a single ``write`` on a file opened ``O_APPEND`` and then
fsynced, so a reader sees whole records only; a torn last line (power loss mid-write) is
skipped when reading, and the next record starts on a line of its own.
"""
import datetime
import json
import logging
import os

log = logging.getLogger(__name__)

HISTORY = "history.jsonl"


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


class History:
    def __init__(self, directory):
        self.path = os.path.join(str(directory), HISTORY)

    def append(self, record):
        """Append ``record`` (a dict; ``time`` is added when missing) and return it."""
        record = dict(record)
        record.setdefault("time", now())
        line = (json.dumps(record, sort_keys=True, default=str) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line  # end a torn last record rather than merging into it
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        return record

    def records(self):
        """Every whole record, oldest first."""
        try:
            with open(self.path, encoding="utf-8") as fh:
                lines = fh.readlines()
        except FileNotFoundError:
            return []
        result = []
        for number, line in enumerate(lines, 1):
            try:
                record = json.loads(line)
            except ValueError:
                log.warning("Skipping unreadable line %d of %s", number, self.path)
                continue
            if isinstance(record, dict):
                result.append(record)
        return result

    def last_change(self, to):
        """
        The newest record that installed ``to`` over another version (restarted or not yet).
        """
        for record in reversed(self.records()):
            if (
                record.get("to") == to
                and record.get("from") not in (None, to)
                and record.get("plugin_status") in ("up_to_date", "restarting")
            ):
                return record
        return None

    def last(self, **match):
        """The newest record whose fields equal ``match``, or ``None``."""
        for record in reversed(self.records()):
            if all(record.get(k) == v for k, v in match.items()):
                return record
        return None
