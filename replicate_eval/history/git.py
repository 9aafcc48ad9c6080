"""Which commit a run evaluated: the git repository the config is in, if any.

Asked of ``git`` itself (a missing git, a folder outside a repository, a slow disk: no
information, never a failed run). In GitHub Actions a pull request is checked out as a detached
merge commit, so the branch comes from the workflow's environment there.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from replicate_eval.results import GitInfo

_GIT_TIMEOUT_S = 3.0


def git_info(folder: Path, env: Mapping[str, str] | None = None) -> GitInfo | None:
    """The commit checked out in ``folder``'s repository, its branch, and whether tracked files
    have changes; None outside a repository or without git."""
    env = os.environ if env is None else env
    commit = _git(folder, "rev-parse", "HEAD")
    if not commit:
        return None
    branch = _git(folder, "rev-parse", "--abbrev-ref", "HEAD")
    if branch in (None, "HEAD"):
        # GitHub's documented variables: the pull request's head branch, else the ref's name.
        branch = env.get("GITHUB_HEAD_REF") or env.get("GITHUB_REF_NAME") or None
    status = _git(folder, "status", "--porcelain", "--untracked-files=no")
    return GitInfo(commit=commit, branch=branch, dirty=bool(status))


def _git(folder: Path, *arguments: str) -> str | None:
    try:
        finished = subprocess.run(
            # No file-system monitor: `git status` would start the user's fsmonitor hook.
            ["git", "-c", "core.fsmonitor=false", *arguments],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
            # Never prompt for credentials; never take an index lock (another git may hold it).
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"},
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    if finished.returncode != 0:
        return None
    return finished.stdout.strip()
