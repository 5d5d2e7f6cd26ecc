"""Outputs of the command line: checked first, written all together or not at all.

Every output is written in full to a temporary file beside it (`Staged`):
`tempfile.mkstemp` makes it with a random name, exclusively, so nothing
planted there is followed, and it gets the input's permissions at most
(`modes`). Only when all are written are they renamed into place, one after
the other in the order they were staged, with Ctrl-C held off
(`interrupts_held`). A failure before that changes no file; a kill between
two renames leaves the outputs staged first new and the others as they
were, which is why ``skogad clean`` stages its kept rows last.
"""

import contextlib
import os
import shutil
import signal
import stat
import tempfile
import threading
from pathlib import Path

from skogad._cli.tables import InputError

PARTIAL = ".skogad-partial"
LOCK = ".skogad-lock"


def missing_folder(folder):
    """The first folder on the way to ``folder`` that is not there."""
    path = Path()
    for part in folder.parts:
        path = path / part
        if not path.is_dir():
            return path
    return folder


def check_destination(flag, path):
    """Raise `InputError` unless a file can be written at ``path``."""
    if path.is_dir():
        raise InputError(f"{flag} {path} is a folder; name a file.")
    check_folder(flag, path, path.parent)
    check_replaceable(flag, path)


def _user():
    return os.geteuid()


def check_replaceable(flag, path):
    """Raise `InputError` if a file at ``path`` exists and could not be replaced.

    In a folder with the sticky bit (``/tmp``), only a file's owner, the
    folder's owner or root may rename over it, whatever the folder's write
    permission says: checked here, before any work, so that the report is
    never replaced beside a kept file that then cannot be.
    """
    try:
        existing = os.lstat(path)
        folder = os.stat(path.parent)
    except OSError:  # nothing there, or found when written
        return
    user = _user()
    if (
        folder.st_mode & stat.S_ISVTX
        and user != 0
        and user not in (existing.st_uid, folder.st_uid)
    ):
        raise InputError(
            f"{flag} {path} belongs to another user, in a folder with the sticky "
            "bit set (as /tmp has): it cannot be replaced. Choose another name."
        )


@contextlib.contextmanager
def output_locks(outputs):
    """Hold an advisory lock on each output of ``outputs``, ``(flag, path)``
    pairs, for the run, so that two runs never write the same outputs at
    once: the second is refused, before any work.

    The lock is a hidden file beside each output (`LOCK`), locked with
    ``flock`` and removed when the run ends; one left by a killed run is
    free again, and taken over.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: no advisory locks
        yield
        return
    held = []
    try:
        for flag, path in sorted(outputs, key=lambda pair: str(pair[1])):
            held.append(_lock(fcntl, flag, Path(path)))
        yield
    finally:
        for descriptor, lock in reversed(held):
            # removed while still locked: a run waiting on this file finds it
            # gone (`_lock` checks) and locks the next one
            with contextlib.suppress(OSError):
                os.unlink(lock)
            os.close(descriptor)


def _lock(fcntl, flag, path):
    lock = path.parent / f".{path.name}{LOCK}"
    while True:
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        try:
            descriptor = os.open(lock, flags, 0o600)
        except OSError as exc:
            raise InputError(
                f"{flag} {path}: cannot write in {path.parent} ({exc})."
            ) from exc
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(descriptor)
            raise InputError(
                f"{flag} {path} is being written by another run of skogad clean "
                "now; wait for it to finish, or name other outputs."
            ) from None
        try:
            same = os.stat(lock).st_ino == os.fstat(descriptor).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return descriptor, lock
        os.close(descriptor)  # its holder removed it meanwhile: lock afresh


def check_folder(flag, path, folder):
    """Raise `InputError` unless ``folder`` (for ``flag path``) is writable."""
    # Not resolved: 'sub/../x.csv' needs 'sub' to exist, as opening it does.
    if not folder.is_dir():
        missing = missing_folder(folder)
        what = "is not a folder" if missing.exists() else "does not exist"
        raise InputError(f"{flag} {path}: {missing} {what}.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{flag} {path}: the folder {folder} is not writable.")


def umask():
    """The process's umask (read by setting it, and setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def modes(data, replaces_input):
    """Permissions for the outputs made from the file ``data``.

    Returns the mode of a derived file (the input's, without execute bits,
    narrowed by the umask: never wider than the input), of the file that
    replaces the input (the input's own when ``replaces_input``, else the
    former), of a new folder (searchable where the input is readable), and
    the input's group, which the outputs try to keep.
    """
    info = data.stat()
    source = stat.S_IMODE(info.st_mode) & 0o777
    mask = umask()
    files = source & 0o666 & ~mask
    searchable = source | (source & 0o444) >> 2  # a folder's x where the file's r
    folders = searchable & 0o777 & ~mask
    return files, (source if replaces_input else files), folders, info.st_gid


class Staged:
    """Outputs written in full beside their destinations, then renamed in place.

    Each temporary file is made by `tempfile.mkstemp` in the destination's
    folder (a random name, opened exclusively, so nothing planted there is
    followed), written through that descriptor and flushed to disk. `commit`
    renames them into place in the order they were staged; `discard` removes
    whatever was not renamed.

    Parameters
    ----------
    group : int or None
        The group the files get (the input's). Where they cannot, their group
        permissions are dropped: a mode copied with another group could let
        others read them.
    """

    def __init__(self, group=None):
        self.group = group
        self._moves = []  # (temporary, destination), in the order to rename

    def _settle(self, target, mode):
        """Give ``target`` (a descriptor or a path) the group, then ``mode``."""
        if self.group is not None and hasattr(os, "chown"):
            try:
                if os.stat(target).st_gid != self.group:
                    os.chown(target, -1, self.group)
            except OSError:
                mode &= ~0o070
        os.chmod(target, mode)

    def _fill(self, descriptor, path, write, mode):
        try:
            with os.fdopen(descriptor, "wb") as handle:
                self._settle(descriptor, mode)
                write(handle)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            # A failed write names no file. Only an error with a strerror takes
            # one: on an OSError made from a message alone it would hide that.
            if exc.filename is None and exc.strerror:
                exc.filename = str(path)
            raise

    def file(self, path, write, mode):
        """Stage ``path``: ``write(handle)`` fills a temporary file beside it."""
        descriptor, temporary = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=PARTIAL, dir=path.parent
        )
        self._moves.append((Path(temporary), path))
        self._fill(descriptor, path, write, mode)

    def folder(self, path, mode):
        """Stage a new folder ``path``; returns the temporary folder to fill.

        Its files are written with `new_file`; the folder is renamed as one.
        """
        temporary = Path(
            tempfile.mkdtemp(prefix=f".{path.name}.", suffix=PARTIAL, dir=path.parent)
        )
        self._moves.append((temporary, path))
        self._settle(temporary, mode)
        return temporary

    def new_file(self, path, write, mode):
        """Write ``path`` in a folder from `folder` (no rename of its own)."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        self._fill(os.open(path, flags, 0o600), path, write, mode)

    def commit(self):
        """Rename every staged output into place, in the order staged."""
        done = []
        while self._moves:
            temporary, destination = self._moves[0]
            try:
                os.replace(temporary, destination)
            except OSError as exc:
                replaced = ", ".join(map(str, done)) or "none"
                raise InputError(
                    f"could not put {destination} in place ({exc.strerror or exc}); "
                    f"already replaced: {replaced}."
                ) from exc
            done.append(destination)
            self._moves.pop(0)

    def discard(self):
        """Remove the temporary files and folders not renamed into place."""
        for temporary, _ in self._moves:
            if temporary.is_dir() and not temporary.is_symlink():
                shutil.rmtree(temporary, ignore_errors=True)
            else:
                temporary.unlink(missing_ok=True)
        self._moves = []


@contextlib.contextmanager
def interrupts_held():
    """Ctrl-C and SIGTERM while the outputs are renamed into place are ignored.

    Once the first rename is done the job is as good as finished: stopping
    between two renames would leave a mix of new and previous outputs, and
    the command's "interrupted; nothing was written" would be untrue.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: None)
    terminate = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        yield
    finally:
        signal.signal(
            signal.SIGINT,
            signal.default_int_handler if previous is None else previous,
        )
        signal.signal(
            signal.SIGTERM, signal.SIG_DFL if terminate is None else terminate
        )
