"""Listeners that accept each connection and close it at once, so that no scanner fills a backlog.

Usage: accept-close.py ADDRESS PORT...   (ADDRESS 0.0.0.0 for every address of the host)
"""
import selectors
import socket
import sys

sel = selectors.DefaultSelector()
for port in sys.argv[2:]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], int(port)))
    s.listen(4096)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        try:
            conn, _ = key.fileobj.accept()
            conn.close()
        except OSError:
            pass
