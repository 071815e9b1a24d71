"""What a path names, judged once for ``-f`` paths, ``-k`` directories and the
resources, components and patches of a kustomization."""

from __future__ import annotations

import errno
import os
import stat

from netfence.errors import EnvironmentProblem

DIRECTORY, FILE = "directory", "file"


def path_kind(path: str) -> str:
    """``DIRECTORY``, ``FILE`` (anything else that exists: the reader refuses what is
    not a regular file, with its own message) or what is wrong with the path, as a
    message: paths that cannot exist (a NUL, too long, a symbolic-link loop) are the
    input's mistake, not a crash."""
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return "no such file or directory"
    except ValueError:  # a NUL byte
        return "not a valid path (it contains a NUL character)"
    except OSError as exc:
        if exc.errno in (errno.ENAMETOOLONG, errno.ELOOP):
            return exc.strerror or "not a valid path"
        raise EnvironmentProblem(f"{path}: cannot read: {exc.strerror}") from exc
    return DIRECTORY if stat.S_ISDIR(info.st_mode) else FILE
