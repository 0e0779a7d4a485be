"""lwconsole.py - a linkwatch-console of the test's own: a user added with
--add-user, the console started on a free loopback port against the test's
redis-server, and a small HTTP client (urllib, no package needed)."""

import base64
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

import lwtest
import lwredis

USER, PASSWORD = "analyst", "correct-horse-battery"


def binary():
    return os.path.join(lwtest.builddir(), "linkwatch-console")


class Console:
    def __init__(self, tmp, redis_port, prefix="lw"):
        self.tmp = tmp
        self.port = lwredis.free_port()
        self.users = os.path.join(tmp, "console-users")
        self.args = ["-c", os.path.join(lwtest.srcdir(), "linkwatch.yaml"),
                     "--set", "console.users-file=%s" % self.users,
                     "--set", "console.listen=127.0.0.1:%d" % self.port,
                     "--set", "redis.port=%d" % redis_port, "--set", "redis.prefix=%s" % prefix]
        # Started as root, the console drops to console.user after binding:
        # nobody here (the users file is given to its group by --add-user).
        if os.geteuid() == 0:
            self.args += ["--set", "console.user=nobody"]
            os.chmod(tmp, os.stat(tmp).st_mode | 0o011)      # nobody may reach the users file
        self.proc = None
        self.log = os.path.join(tmp, "console.log")

    def add_user(self, name=USER, password=PASSWORD):
        return subprocess.run([binary()] + self.args + ["--add-user", name],
                              input=(password + "\n").encode(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=30)

    def start(self):
        self.logf = open(self.log, "w")
        self.proc = subprocess.Popen([binary()] + self.args, stdout=self.logf, stderr=self.logf)
        until = time.time() + 10
        while time.time() < until:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        raise RuntimeError("linkwatch-console did not start (see %s)" % self.log)

    def stop(self):
        lwtest.stop_process(self.proc)
        self.proc = None

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def request(self, path, body=None, auth=True, headers=None, method=None):
        """Returns (status, headers, parsed JSON or text)."""
        h = dict(headers or {})
        if auth is True:
            h["Authorization"] = "Basic " + base64.b64encode(
                ("%s:%s" % (USER, PASSWORD)).encode()).decode()
        elif isinstance(auth, str):
            h["Cookie"] = auth
        data = None
        if body is not None:
            data = json.dumps(body).encode() if not isinstance(body, bytes) else body
            h.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(self.url(path), data=data, headers=h, method=method)
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                status, hdrs, raw = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, hdrs, raw = e.code, e.headers, e.read()
        try:
            return status, hdrs, json.loads(raw)
        except ValueError:
            return status, hdrs, raw.decode("utf-8", "replace")

    def login(self, name=USER, password=PASSWORD):
        """POST /api/login: (status, the cookie "lw_session=..." or "", body)."""
        s, h, b = self.request("/api/login", body={"user": name, "password": password}, auth=False)
        return s, h.get("Set-Cookie", "").split(";")[0], b

    def get(self, path, **kw):
        s, _, b = self.request(path, **kw)
        return s, b
