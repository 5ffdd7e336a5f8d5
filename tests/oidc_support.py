"""A real OpenID Connect provider for the tests: ``tests/oidc/server.mjs`` (npm's
oidc-provider) under Node on 127.0.0.1, and the steps a browser takes through it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

HERE = Path(__file__).parent / "oidc"
CLIENT_ID = "fitsflow"
CLIENT_SECRET = "test-client-secret-for-fitsflow"
APP = "http://localhost"  # where Flask's test client says the app is


@dataclass
class Provider:
    issuer: str

    def control(self, **what: Any) -> None:
        requests.post(f"{self.issuer}/__control", json=what, timeout=5).raise_for_status()

    def through(self, authorize_url: str) -> str:
        """Follow the provider's redirects as a browser would (sign-in is scripted) until it
        sends the browser back to the app: that address (path and query)."""
        browser = requests.Session()
        url = authorize_url
        for _ in range(10):
            answer = browser.get(url, allow_redirects=False, timeout=10)
            assert answer.status_code in (302, 303), (answer.status_code, answer.text[:500])
            url = urljoin(url, answer.headers["Location"])
            if url.startswith(APP + "/"):
                return url[len(APP):]
        raise AssertionError("the provider never sent the browser back")


def _node_ready() -> str:
    """Why the provider cannot start here ('' when it can)."""
    if shutil.which("node") is None:
        return "Node.js is not installed"
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        return "oidc-provider is not installed: cd tests/oidc && npm ci"
    return ""


@contextmanager
def running_provider(tmp_path: Path, accounts: dict[str, Any], app: str = APP) -> Iterator[Provider]:
    """The provider, its one client (fitsflow) sending people back to ``app``."""
    why = _node_ready()
    if why:
        message = f"single sign-on tests did not run: {why}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (required under CI=true; .ci/run installs it)")
        pytest.skip(message)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "provider.json"
    config.write_text(json.dumps({
        "clients": [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                     "redirect_uris": [f"{app}/login/sso/school/callback"],
                     "post_logout_redirect_uris": [f"{app}/login"]}],
        "accounts": accounts}))
    errors = tmp_path / "provider.log"
    with errors.open("w") as log, subprocess.Popen(["node", "server.mjs", str(port), str(config)], cwd=HERE,
                                                   stdout=subprocess.PIPE, stderr=log, text=True) as process:
        try:
            assert process.stdout is not None
            deadline = time.monotonic() + 20
            while process.stdout.readline().strip() != "ready":
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"the OpenID provider did not start: {errors.read_text()[-2000:]}")
            yield Provider(f"http://127.0.0.1:{port}")
        finally:
            process.terminate()
            process.wait(timeout=10)


def query_of(path: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
