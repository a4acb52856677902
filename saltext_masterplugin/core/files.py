"""Small file helpers: hashing, atomic replacement, private folders."""
import hashlib
import json
import os
import tempfile

CHUNK = 1024 * 1024


def sha256_file(path):
    """``(hexdigest, size)`` of the file at ``path``."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_quietly(path):
    """Remove ``path`` if it exists."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def atomic_write_bytes(path, data, mode=0o600):
    """Write ``data`` to ``path`` so that readers see the old content or the new, never a part."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise
    fsync_dir(folder)


def atomic_write_json(path, data, mode=0o600):
    atomic_write_bytes(
        path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8"), mode
    )


def private_dir(path):
    """Create ``path`` (and parents) with mode 0700 if missing; return it."""
    if not os.path.isdir(path):
        os.makedirs(path, mode=0o700, exist_ok=True)
        os.chmod(path, 0o700)
    return path
