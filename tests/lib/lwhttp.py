"""lwhttp.py - raw HTTP clients for the listener tests: slow clients that
send a request one byte at a time, requests with hand-made framing, and
timed GETs. Loopback only; every loop is bounded in count and time.
"""

import socket
import time


def raw(port, data, src="127.0.0.1", timeout=10, max_bytes=32 << 20):
    """Sends data (bytes) and returns what came back before the server
    closed (bytes, at most max_bytes), or b"" after the timeout."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    out = b""
    try:
        s.bind((src, 0))
        s.connect(("127.0.0.1", port))
        s.sendall(data)
        end = time.time() + timeout
        while time.time() < end and len(out) < max_bytes:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except OSError:
        pass
    finally:
        s.close()
    return out


def status_of(reply):
    """The status code of a raw reply, 0 when there is none."""
    try:
        return int(reply.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


def get(port, path, headers=(), src="127.0.0.1", timeout=10):
    """(status, seconds, body) of one GET; status 0 when it timed out."""
    head = "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n" % (path, "".join(h + "\r\n" for h in headers))
    t0 = time.time()
    r = raw(port, head.encode(), src=src, timeout=timeout)
    body = r.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in r else b""
    return status_of(r), time.time() - t0, body


class SlowClients:
    """n connections from address src that each send a request one byte
    every `every` seconds (slowloris). step() sends the next bytes; run it
    in the caller's loop. Counts the connections the server closed."""

    HEAD = (b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow\r\n"
            b"X-Padding: " + b"a" * 200 + b"\r\n\r\n")

    def __init__(self, port, n, src="127.0.0.5", every=2.0, head=None):
        self.every = every
        self.head = head or self.HEAD
        self.socks = []
        self.closed = 0
        self.refused = 0
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((src, 0))
            s.settimeout(5)
            try:
                s.connect(("127.0.0.1", port))
            except OSError:
                self.refused += 1
                s.close()
                continue
            s.setblocking(False)
            self.socks.append([s, 0, 0.0])

    def step(self):
        now = time.time()
        for rec in self.socks:
            s, pos, last = rec
            if s is None:
                continue
            try:
                d = s.recv(4096)
                if d == b"" or d:
                    # An answer (408, 503) or a close: the server let it go.
                    self.closed += 1
                    s.close()
                    rec[0] = None
                    continue
            except BlockingIOError:
                pass
            except OSError:
                self.closed += 1
                s.close()
                rec[0] = None
                continue
            if now - last >= self.every and pos < len(self.head) - 1:
                try:
                    s.send(self.head[pos:pos + 1])
                    rec[1], rec[2] = pos + 1, now
                except OSError:
                    self.closed += 1
                    s.close()
                    rec[0] = None

    def alive(self):
        return sum(1 for r in self.socks if r[0] is not None)

    def close(self):
        for rec in self.socks:
            if rec[0] is not None:
                rec[0].close()
                rec[0] = None
