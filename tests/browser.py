"""Headless chromium (Debian's package) for the tests of HTML pages: installed with apt-get when
missing; with ``CI=true`` a browser that cannot be had fails the test instead of skipping it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

# an absolute URL in a src/href attribute, or a CDN named anywhere: what a page would fetch
EXTERNAL = re.compile(r"""(src|href)\s*=\s*["']?(https?:)?//|cdn\.(plot\.ly|jsdelivr|cloudflare)|unpkg\.com""", re.IGNORECASE)
# chromium sends every request here, where nothing listens: any fetch from the network fails
OFFLINE_FLAGS = ["--proxy-server=http://127.0.0.1:9"]  # loopback (a local server) stays direct


def unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"headless chromium is required in CI: {reason}")
    pytest.skip(reason)


def chromium() -> str:
    """Path of chromium, installed with apt-get when missing."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if shutil.which("apt-get") is None:
        unavailable("chromium is not installed and apt-get is not available to install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["apt-get", "install", "-y", "chromium"], ["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        try:
            proc = subprocess.run(step, check=False, capture_output=True, text=True, timeout=300, env=env)
        except subprocess.TimeoutExpired:
            unavailable(f"chromium could not be installed: {' '.join(step)} took over 300 s")
        found = shutil.which("chromium")
        if found:
            return found
    unavailable(f"chromium could not be installed (apt-get exit {proc.returncode}): {proc.stderr[-300:]}")


def browser_args(profile: Path) -> list[str]:
    """Headless, offline chromium with its own profile folder."""
    return [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--no-first-run", f"--user-data-dir={profile}", *OFFLINE_FLAGS]


def dump_dom(url: str, profile: Path, budget_ms: int = 10000) -> str:
    """The DOM of ``url`` after its scripts ran, offline."""
    proc = subprocess.run([*browser_args(profile), f"--virtual-time-budget={budget_ms}", "--dump-dom", url],
                          capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr[-500:]
    return proc.stdout


def assert_offline(text: str, name: str) -> None:
    """The markup of ``text`` (HTML; inline scripts, such as a bundled library, aside) or ``text``
    (our own JS or CSS) names nothing to fetch from the network. Whether the page needs the
    network at all is proven by rendering it with :func:`dump_dom` (the network is unreachable)."""
    markup = re.sub(r"(<script[^>]*>).*?(</script>)", r"\1\2", text, flags=re.DOTALL | re.IGNORECASE)
    found = EXTERNAL.search(markup)
    assert found is None, f"{name} loads from the network: ...{markup[max(found.start() - 80, 0):found.end() + 80]}..."
