#!/usr/bin/env python3
"""Holds loopback listeners open for the TCP benchmark: listeners.py FIRST_PORT COUNT [ADDRESS...]

Listens on FIRST_PORT .. FIRST_PORT+COUNT-1 of every ADDRESS (127.0.0.1 when none is given),
prints "ready" once every socket listens, then waits for stdin to close. The kernel completes
handshakes into each listen backlog, so nothing accepts while a run measures; each line "drain"
on stdin accepts and closes what the runs left queued (answering "drained"), so that a
100,000-check benchmark does not leave a million sockets in the kernel.
"""
import resource
import socket
import sys

first, count = int(sys.argv[1]), int(sys.argv[2])
addresses = sys.argv[3:] or ["127.0.0.1"]
wanted = count * len(addresses) + 64
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if hard < wanted:
    # Only root may raise the hard limit; anyone else gets what the hard limit allows.
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
        soft, hard = wanted, wanted
    except (ValueError, OSError):
        pass
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, wanted)), hard))
held = []
try:
    for address in addresses:
        for port in range(first, first + count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((address, port))
            # Nothing accepts during a run, so its connections stay queued until a drain.
            s.listen(4096)
            s.setblocking(False)
            held.append(s)
except OSError as e:
    print(f"cannot listen on {address}:{port} ({e})", flush=True)
    sys.exit(1)
print("ready", flush=True)
for line in sys.stdin:
    if line.strip() == "drain":
        for s in held:
            while True:
                try:
                    conn, _ = s.accept()
                except (BlockingIOError, ConnectionError):
                    break
                conn.close()
        print("drained", flush=True)
