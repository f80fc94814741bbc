"""Programs from Debian packages for the tests that need them (redis-server,
chromium): found on the PATH, or installed with apt-get when missing."""

from __future__ import annotations

import shutil
import subprocess

import pytest

_updated = False


def _apt_get(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["apt-get", *args],
        capture_output=True,
        text=True,
        timeout=900,
        env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        check=False,
    )


def ensure_program(program: str, *packages: str) -> str:
    """The path of ``program``, installing ``packages`` when it is missing;
    skips the test (with the reason) only when it cannot be installed."""
    global _updated
    found = shutil.which(program)
    if found is not None:
        return found
    if shutil.which("apt-get") is None:
        pytest.skip(f"{program} is missing and there is no apt-get to install it")
    try:
        if not _updated:
            _apt_get("-o", "DPkg::Lock::Timeout=300", "update")
            _updated = True
        result = _apt_get("install", "-y", "-o", "DPkg::Lock::Timeout=300", *packages)
    except (OSError, subprocess.TimeoutExpired) as e:
        pytest.skip(f"{program} is missing and apt-get failed: {e}")
    found = shutil.which(program)
    if found is None:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        pytest.skip(f"{program} is missing and could not be installed: {' '.join(tail)}")
    return found
