#!/usr/bin/env python3
"""A slow, jittery link in user space, for kernels without netem (tests/cli/tcp_firewall.rs).

    delay_line.py CLIENT_NS CLIENT_TUN SERVER_NS SERVER_TUN --delay-ms 200 --jitter-ms 50

Creates the TUN device CLIENT_TUN (IFF_TUN | IFF_NO_PI: bare IP packets) in network namespace
CLIENT_NS and SERVER_TUN in SERVER_NS (both named in /run/netns), prints "ready" once both
exist, then forwards every IP packet from one to the other. Like `tc qdisc add dev
SERVER_VETH root netem delay 200ms 50ms`, which it stands in for, it delays what the server
sends (SYN-ACKs, resets): each such packet waits its own delay, drawn uniformly from
DELAY ± JITTER, so they may be reordered. What the client sends passes at once.

The caller gives the devices their state and routes (`ip -n NS link set TUN up`, routes to
the other side's address over TUN). The devices live as long as this process: it exits when
its stdin closes (its parent is gone or done) or on SIGTERM, and the kernel removes them.
Standard library only.
"""

import argparse
import ctypes
import fcntl
import heapq
import os
import random
import select
import signal
import struct
import sys
import time

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
IFNAMSIZ = 16
# Larger than any packet a TUN device with the default MTU (1500) hands over.
READ_SIZE = 65536

libc = ctypes.CDLL(None, use_errno=True)


def setns(fd):
    if libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, "setns: " + os.strerror(errno))


def open_tun(namespace, name):
    """Opens TUN device `name` created in `namespace`; this process's own namespace is kept.

    A TUN device is created in the namespace of the thread that sets it up (TUNSETIFF), and
    stays there whatever namespace later reads or writes its file descriptor."""
    if not 0 < len(name.encode()) < IFNAMSIZ:
        # struct.pack would cut it to IFNAMSIZ bytes, and the kernel to one fewer.
        raise ValueError(f"interface name {name!r} is not 1 to {IFNAMSIZ - 1} bytes long")
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        target = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
        try:
            setns(target)
        finally:
            os.close(target)
        try:
            tun = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
            try:
                request = struct.pack(f"{IFNAMSIZ}sH", name.encode(), IFF_TUN | IFF_NO_PI)
                fcntl.ioctl(tun, TUNSETIFF, request)
            except OSError:
                os.close(tun)
                raise
        finally:
            setns(own)
    finally:
        os.close(own)
    return tun


def forward(client, server, delay, jitter):
    """Moves packets until stdin closes. `delay` and `jitter` are in seconds."""
    # (due time, sequence number, packet): the sequence number keeps packets of equal due
    # times in arrival order and spares comparing bytes.
    waiting = []
    sequence = 0
    stdin = sys.stdin.fileno()
    while True:
        timeout = None
        if waiting:
            timeout = max(0.0, waiting[0][0] - time.monotonic())
        readable, _, _ = select.select([client, server, stdin], [], [], timeout)
        if stdin in readable and not os.read(stdin, 4096):
            return
        if client in readable:
            for packet in drain(client):
                send(server, packet)
        if server in readable:
            for packet in drain(server):
                due = time.monotonic() + random.uniform(delay - jitter, delay + jitter)
                heapq.heappush(waiting, (due, sequence, packet))
                sequence += 1
        now = time.monotonic()
        while waiting and waiting[0][0] <= now:
            send(client, heapq.heappop(waiting)[2])


def drain(tun):
    """Every packet the kernel has queued on `tun` now."""
    packets = []
    while True:
        try:
            packets.append(os.read(tun, READ_SIZE))
        except BlockingIOError:
            return packets


def send(tun, packet):
    try:
        os.write(tun, packet)
    except BlockingIOError:
        # The device's queue is full: the packet is lost, as on a congested link.
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("client_ns")
    parser.add_argument("client_tun")
    parser.add_argument("server_ns")
    parser.add_argument("server_tun")
    parser.add_argument("--delay-ms", type=float, required=True)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    args = parser.parse_args()
    if not 0 <= args.jitter_ms <= args.delay_ms:
        parser.error("--jitter-ms must be between 0 and --delay-ms")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        client = open_tun(args.client_ns, args.client_tun)
        server = open_tun(args.server_ns, args.server_tun)
    except (OSError, ValueError) as e:
        sys.exit(f"delay_line.py: {e}")
    print("ready", flush=True)
    forward(client, server, args.delay_ms / 1000, args.jitter_ms / 1000)


if __name__ == "__main__":
    main()
