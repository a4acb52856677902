"""
An advisory lock between processes: ``flock`` on a file, with a bounded wait.

The holder writes its pid and what it is doing into the lock file, so that a process that finds
the lock busy can say who holds it.
"""
import errno
import fcntl
import os
import time

from saltext_masterplugin.core.errors import LockBusyError

POLL_INTERVAL = 0.1


class FileLock:
    """
    ``with FileLock(path, timeout=5, purpose="sync"):`` -- exclusive, across processes.

    ``timeout=0`` fails at once when the lock is held; otherwise waits up to ``timeout``
    seconds, then raises :class:`LockBusyError` naming the holder.
    """

    def __init__(self, path, timeout=0, purpose=""):
        self.path = str(path)
        self.timeout = timeout
        self.purpose = purpose
        self._fd = None

    def holder(self):
        """What the current holder wrote into the lock file ("" when nothing is known)."""
        try:
            with open(self.path, encoding="utf-8") as fh:
                return fh.read().strip()
        except OSError:
            return ""

    def acquire(self):
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as err:
                if err.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
                if time.monotonic() >= deadline:
                    os.close(fd)
                    holder = self.holder() or "another process"
                    raise LockBusyError(
                        f"{self.path} is locked by {holder}; "
                        f"gave up after {self.timeout:g} s"
                    ) from err
                time.sleep(POLL_INTERVAL)
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} ({self.purpose or 'busy'})\n".encode())
        self._fd = fd
        return self

    def release(self):
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
