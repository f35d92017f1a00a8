#!/usr/bin/env python3
"""Holds N loopback listeners open for the TCP benchmark: listeners.py FIRST_PORT COUNT.

Prints "ready" once every socket listens, then sleeps until stdin closes. The kernel completes
handshakes into each listen backlog, so nothing needs to accept.
"""
import resource
import socket
import sys

first, count = int(sys.argv[1]), int(sys.argv[2])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, count + 64)), hard))
held = []
for port in range(first, first + count):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    # Nothing accepts, so every connection of every run stays queued: leave room for many runs.
    s.listen(4096)
    held.append(s)
print("ready", flush=True)
sys.stdin.read()
