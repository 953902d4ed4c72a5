"""A thin wrapper over the git command line: file contents at a ref, files changed since a ref.

Every failure becomes a ``GitError`` (a ``DetectionError``) that says what went wrong and what to
do, never a traceback from subprocess.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from detection.diagnostics import DetectionError, Diagnostic, Location

CODE_NO_GIT = "G130"
CODE_BAD_REF = "G131"
CODE_GIT_FAILED = "G132"


class GitError(DetectionError):
    """git is missing, the folder is not a repository, a ref is unknown, or a command failed."""

    def __init__(self, code: str, message: str, hint: str | None = None, where: str = "git"):
        super().__init__([Diagnostic(Location(where, 0, 0), code, message, hint=hint)])


@dataclass(frozen=True)
class Repo:
    """A git working tree; ``root`` is its top-level folder."""

    root: Path

    def run(self, *args: str, input_bytes: bytes | None = None) -> bytes:
        try:
            done = subprocess.run(["git", "-C", str(self.root), *args], input=input_bytes,
                                  capture_output=True, check=False)
        except OSError as exc:  # git vanished or cannot start
            raise GitError(CODE_NO_GIT, f"cannot run git: {exc}", hint="install git or run without --base") from None
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise GitError(CODE_GIT_FAILED, f"git {args[0]} failed: {message[-1] if message else 'no message'}")
        return done.stdout

    def resolve(self, ref: str) -> str:
        """The commit id ``ref`` names; a clear error when git does not know it."""
        if ref.startswith("-"):
            raise GitError(CODE_BAD_REF, f"{ref!r} is not a git revision", hint="give a branch, tag or commit")
        try:
            return self.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").decode().strip()
        except GitError:
            raise GitError(CODE_BAD_REF, f"unknown git revision {ref!r}",
                           hint="give a branch, tag or commit that exists here (git log --oneline shows them); "
                                "in CI, fetch enough history (e.g. fetch-depth: 0)") from None

    def relative(self, path: Path) -> str:
        """``path`` as git names it: relative to the repository root, with forward slashes."""
        return Path(path).resolve().relative_to(self.root).as_posix()

    def list_files(self, ref: str, folders: Sequence[str]) -> list[str]:
        """Files under ``folders`` (repository-relative) in commit ``ref``."""
        if not folders:
            return []
        out = self.run("ls-tree", "-r", "-z", "--name-only", ref, "--", *folders)
        return sorted(p for p in out.decode("utf-8").split("\0") if p)

    def read_files(self, ref: str, paths: Iterable[str]) -> dict[str, str | None]:
        """Contents of ``paths`` at ``ref`` with one git process; None for paths absent there."""
        paths = list(paths)
        if not paths:
            return {}
        request = "".join(f"{ref}:{p}\n" for p in paths).encode("utf-8")
        raw = self.run("cat-file", "--batch", input_bytes=request)
        out: dict[str, str | None] = {}
        pos = 0
        for path in paths:
            end = raw.index(b"\n", pos)
            header = raw[pos:end].split()
            pos = end + 1
            if len(header) < 3 or header[-1] == b"missing":
                out[path] = None
                continue
            size = int(header[2])
            out[path] = raw[pos:pos + size].decode("utf-8", "replace")
            pos += size + 1  # the blob is followed by a newline
        return out

    def read_file(self, ref: str, path: str) -> str | None:
        return self.read_files(ref, [path])[path]

    def changed_files(self, ref: str) -> list[str]:
        """Repository-relative paths that differ between ``ref`` and the working tree, untracked
        files included (a new rule not yet added is still a change)."""
        diff = self.run("diff", "--name-only", "-z", "--no-renames", ref, "--")
        untracked = self.run("ls-files", "-z", "--others", "--exclude-standard")
        names = {p for p in (diff + b"\0" + untracked).decode("utf-8").split("\0") if p}
        return sorted(names)

    def commits_touching(self, ref: str, path: str, limit: int = 200) -> list[str]:
        """Commits up to ``ref`` that changed ``path``, newest first (at most ``limit``)."""
        out = self.run("log", f"--max-count={limit}", "--format=%H", ref, "--", path)
        return out.decode().split()


def find_repo(start: Path) -> Repo:
    """The repository that holds ``start``; ``GitError`` when git is missing or there is none."""
    if shutil.which("git") is None:
        raise GitError(CODE_NO_GIT, "git is not installed", hint="install git, or run without --base")
    start = Path(start).resolve()
    folder = start if start.is_dir() else start.parent
    done = subprocess.run(["git", "-C", str(folder), "rev-parse", "--show-toplevel"], capture_output=True, check=False)
    if done.returncode != 0:
        raise GitError(CODE_NO_GIT, f"{folder} is not inside a git repository",
                       hint="run inside a git checkout, or leave out --base to check against the recorded history")
    return Repo(Path(done.stdout.decode("utf-8").strip()).resolve())


def try_find_repo(start: Path) -> Repo | None:
    """The repository holding ``start``, or None when there is no git or no repository."""
    try:
        return find_repo(start)
    except GitError:
        return None
