"""Where a server started on this machine can be reached: the addresses to print at start and to show as a QR code.

A server listening on ``0.0.0.0`` or ``::`` answers on every network the machine is on, but that address is no
address to give anybody: :func:`reach` lists the machine's own network addresses instead (IPv4 first), found
without sending anything: the addresses of each interface (Linux: ``SIOCGIFADDR`` and ``/proc/net/if_inet6``),
the host name's addresses (``getaddrinfo``) and the address of the default route (a UDP socket ``connect``,
which sends no packet). A server on a loopback address is reachable from this machine only, and says so.

:func:`qr_svg` and :func:`qr_text` draw an address as a QR code with ``segno`` (the classroom extra).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

WILDCARD = ("0.0.0.0", "::", "")
LOOPBACK = ("127.0.0.1", "::1", "localhost")
SIOCGIFADDR = 0x8915  # Linux: an interface's IPv4 address
IF_INET6 = Path("/proc/net/if_inet6")  # Linux: one line per IPv6 address of each interface
ROUTE_PROBES = ((socket.AF_INET, ("10.255.255.255", 1)), (socket.AF_INET6, ("fd00::1", 1)))


def interface_addresses() -> list[str]:
    """Each interface's addresses, read from the kernel (Linux; nothing elsewhere)."""
    found: list[str] = []
    with contextlib.suppress(OSError, ImportError):
        import fcntl

        names = [name for _i, name in socket.if_nameindex()]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for name in names:
                with contextlib.suppress(OSError):
                    raw = fcntl.ioctl(s.fileno(), SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
                    found.append(socket.inet_ntoa(raw[20:24]))
    with contextlib.suppress(OSError, ValueError):
        for line in IF_INET6.read_text().splitlines():
            hexed = line.split()[0]
            found.append(str(ipaddress.IPv6Address(bytes.fromhex(hexed))))
    return found


def hostname_addresses() -> list[str]:
    """The addresses this machine's host name resolves to (from /etc/hosts or the local resolver)."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None)
    except OSError:
        return []
    return [str(info[4][0]) for info in infos]


def route_addresses() -> list[str]:
    """This machine's address on its default route, IPv4 and IPv6 (a UDP socket's own address after
    ``connect`` to a private address: no packet is sent)."""
    found = []
    for family, probe in ROUTE_PROBES:
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.connect(probe)
                found.append(str(s.getsockname()[0]))
        except OSError:
            continue
    return found


def usable(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address if another machine could use it to reach this one: not loopback, unspecified, multicast,
    nor an IPv6 link-local address (which needs an interface name no student can type)."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return None
    if ip.is_loopback or ip.is_unspecified or ip.is_multicast:
        return None
    if ip.version == 6 and ip.is_link_local:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def network_addresses(ipv6: bool = True) -> list[str]:
    """This machine's addresses on its networks, each once: IPv4 first (link-local 169.254.x.x last among
    them), then IPv6 if ``ipv6``."""
    seen: dict[str, ipaddress.IPv4Address | ipaddress.IPv6Address] = {}
    for found in (interface_addresses(), route_addresses(), hostname_addresses()):
        for a in found:
            ip = usable(a)
            if ip is not None and (ipv6 or ip.version == 4):
                seen.setdefault(str(ip), ip)
    return sorted(seen, key=lambda a: (seen[a].version, seen[a].is_link_local, seen[a].packed))


@dataclass(frozen=True)
class Reach:
    """Where a server can be reached: its addresses (the first is the one to give) and what to say of them."""

    urls: list[str]
    note: str  # "" when the addresses reach the local networks
    local_only: bool

    @property
    def hosts(self) -> list[str]:
        """The Host values of the addresses (a server answers to them)."""
        return [u.split("//", 1)[1].rsplit(":", 1)[0] for u in self.urls]


def url(host: str, port: int, path: str = "/") -> str:
    return f"http://[{host}]:{port}{path}" if ":" in host else f"http://{host}:{port}{path}"


def reach(host: str, port: int, path: str = "/") -> Reach:
    """The addresses of a server listening on ``host:port`` that another machine (or, for a loopback address,
    this one) can open, with a note on who can reach them."""
    if host in WILDCARD:
        found = network_addresses(ipv6=host == "::")
        if not found:
            return Reach([url("127.0.0.1", port, path)], "no network address found on this machine: it is reachable "
                         "from this machine only until it joins a network", True)
        return Reach([url(a, port, path) for a in found], "", False)
    if host in LOOPBACK or (usable(host) is None and host not in WILDCARD and _is_ip(host)):
        return Reach([url(host, port, path)], "reachable from this machine only: start with --host 0.0.0.0 to "
                     "reach the other machines of the local network", True)
    return Reach([url(host, port, path)], "", False)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def qr_svg(text: str) -> str | None:
    """``text`` as a QR code in an ``<svg>`` element to put inline in a page; None without segno."""
    try:
        import segno
    except ImportError:
        return None
    return str(segno.make(text, error="m").svg_inline(scale=6, border=3, dark="#000", light="#fff"))


def qr_text(text: str) -> str | None:
    """``text`` as a QR code drawn with block characters for a terminal (segno's compact drawing: the light
    modules are the blocks, so it reads on a dark background); None without segno."""
    try:
        import segno
    except ImportError:
        return None
    import io

    buf = io.StringIO()
    segno.make(text, error="m").terminal(out=buf, compact=True, border=2)
    return buf.getvalue()
