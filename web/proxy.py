"""The real client address behind a reverse proxy, trusting forwarded headers only from
the proxies named in ``server.forwarded_allow_ips`` (addresses or networks, or ``*``).

Werkzeug's ProxyFix trusts a number of hops whoever sends them; this trusts by address,
like gunicorn's own setting, so a client that is not a listed proxy cannot choose the
address its sign-in attempts are counted under."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_trusted(text: str) -> tuple[bool, list[Network]]:
    """(trust everyone, networks) from a comma-separated setting."""
    items = [i.strip() for i in text.split(",") if i.strip()]
    return "*" in items, [ipaddress.ip_network(i, strict=False) for i in items if i != "*"]


class TrustedProxies:
    """WSGI middleware: REMOTE_ADDR and the scheme from X-Forwarded-For/-Proto, when and
    only when the peer is a trusted proxy."""

    def __init__(self, app: Any, trusted: str):
        self.app = app
        self.everyone, self.networks = parse_trusted(trusted)

    def trusts(self, address: str) -> bool:
        if self.everyone:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client(self, peer: str, forwarded: Iterable[str]) -> str:
        """The first address, from the right, that is not one of our proxies."""
        for hop in reversed([h.strip() for h in forwarded if h.strip()]):
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                return peer  # garbage in the chain: keep the address we can vouch for
            if not self.trusts(hop):
                return hop
        return peer

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        peer = environ.get("REMOTE_ADDR", "")
        if peer and self.trusts(peer):
            forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
            if forwarded:
                environ["REMOTE_ADDR"] = self.client(peer, forwarded.split(","))
            proto = environ.get("HTTP_X_FORWARDED_PROTO", "").split(",")[-1].strip().lower()
            if proto in ("http", "https"):
                environ["wsgi.url_scheme"] = proto
        return self.app(environ, start_response)
