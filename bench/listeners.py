#!/usr/bin/env python3
"""Holds loopback listeners open for the TCP benchmark: listeners.py FIRST_PORT COUNT [ADDRESS...]

Listens on FIRST_PORT .. FIRST_PORT+COUNT-1 of every ADDRESS (127.0.0.1 when none is given),
prints "ready" once every socket listens, then waits for stdin to close. The kernel completes
handshakes into each listen backlog, so nothing accepts while a run measures; each line "drain"
on stdin accepts and closes what the runs left queued (answering "drained"), so that a
100,000-check benchmark does not leave a million sockets in the kernel.

One process may hold only as many sockets as its open-file limit allows, so the sockets are
spread over as many worker processes as that takes.
"""
import multiprocessing
import resource
import socket
import sys


def hold(chunk, conn):
    """Listens on every (address, port) of `chunk`, then serves drain requests from `conn`."""
    held = []
    try:
        for address, port in chunk:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((address, port))
            # Nothing accepts during a run, so its connections stay queued until a drain.
            s.listen(4096)
            s.setblocking(False)
            held.append(s)
    except OSError as e:
        conn.send(f"cannot listen on {address}:{port} ({e})")
        return
    conn.send("ready")
    while conn.recv() == "drain":
        for s in held:
            while True:
                try:
                    accepted, _ = s.accept()
                except (BlockingIOError, ConnectionError):
                    break
                accepted.close()
        conn.send("drained")


def main():
    first, count = int(sys.argv[1]), int(sys.argv[2])
    addresses = sys.argv[3:] or ["127.0.0.1"]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    per_worker = max(1, hard - 64)
    wanted = [(a, p) for a in addresses for p in range(first, first + count)]
    chunks = [wanted[i : i + per_worker] for i in range(0, len(wanted), per_worker)]
    workers = []
    for chunk in chunks:
        ours, theirs = multiprocessing.Pipe()
        process = multiprocessing.Process(target=hold, args=(chunk, theirs), daemon=True)
        process.start()
        workers.append((process, ours))
    for _, conn in workers:
        answer = conn.recv()
        if answer != "ready":
            print(answer, flush=True)
            sys.exit(1)
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "drain":
            for _, conn in workers:
                conn.send("drain")
            for _, conn in workers:
                conn.recv()
            print("drained", flush=True)
    for process, conn in workers:
        conn.send("stop")
        process.join()


if __name__ == "__main__":
    main()
