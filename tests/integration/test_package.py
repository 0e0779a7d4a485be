#!/usr/bin/env python3
"""test_package.py - the Debian packages, as an operator meets them.

1. Build: a copy of the source tree in a temporary folder,
   `dpkg-buildpackage -b -us -uc` (once; DEB_BUILD_OPTIONS=nocheck, the
   unit tests run elsewhere in the suite); lintian on the result reports
   no error or warning (overrides carry their reasons).
2. Install both packages with apt-get (`apt install ./linkwatch_*.deb`):
   the linkwatch system user, /var/log/linkwatch and /var/spool/linkwatch
   root:linkwatch 0750, /etc/linkwatch/linkwatch.yaml root:linkwatch 0640,
   the configuration and every shipped rule file as conffiles, the four
   man pages, the units (systemd-analyze verify), `linkwatch -T` of the
   installed configuration.
3. linkwatch@IFACE.service on IFACE, one end of a veth pair in a network
   namespace this test creates, with the installed configuration edited
   as the README says (Redis on; a Redis server of the test's own on a
   unix socket). With systemd running: `systemctl start linkwatch@IFACE`
   (a runtime drop-in puts the service in the test's namespace). Without
   it (a container): the unit's ExecStartPre= and ExecStart= lines run by
   hand the way systemd would (its Environment=, RuntimeDirectory=, UMask=,
   CapabilityBoundingSet= and NoNewPrivileges= through setpriv; tests/lib/
   lwunit.py). The demo capture, rewritten to loopback addresses, is
   replayed into the other end: every thread of the sensor runs as
   linkwatch, eve.json (owned by linkwatch) holds the flows and alerts of
   an offline run of the same capture.
4. logrotate -f with the shipped /etc/logrotate.d/linkwatch, twice, while
   the sensor writes: eve.json, eve.json.1 and eve.json.2.gz hold whole
   JSON lines only and together exactly the events the sensor wrote.
5. A second start (the files now belong to linkwatch) works.
6. linkwatch-console.service (its ExecStart= by hand as User=linkwatch,
   the users file as its credential): the first alert is in the console.
7. Removing the packages leaves the configuration (conffiles, the edited
   linkwatch.yaml included); purging removes it, the logs and the spool.
Everything is undone at the end: packages purged, the namespace, Redis,
and the linkwatch user if this test created it.
Skipped when not root, without dpkg-buildpackage or the build dependencies,
without ip/tcpreplay, when linkwatch is already installed or /etc/linkwatch
exists (the operator's), and in the ASan build (the package is built from
source, not from this build).
"""

import glob
import grp
import gzip
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import lwtest
import lwredis
import lwunit
from lwsensor import (alert_keys, flow_keys, pcap_header, read_pcap, records_bytes, replay_start, replay_wait,
                      rewrite_loopback, veth_namespace, veth_namespace_del)

PKGS = ("linkwatch", "linkwatch-console")
UNIT_DIR = "/lib/systemd/system"
PPS = 1000


def run(argv, timeout=600, **kw):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, **kw)
    return r.returncode, r.stdout.decode("utf-8", "replace")


def installed(pkg):
    rc, out = run(["dpkg-query", "-W", "-f=${Status}", pkg])
    return rc == 0 and out.split()[-1:] == ["installed"]


def status(pkg):
    """dpkg's status of pkg ("install ok installed", "deinstall ok config-files", ...), "" when unknown."""
    rc, out = run(["dpkg-query", "-W", "-f=${Status}", pkg])
    return out.strip() if rc == 0 else ""


def preconditions(binary):
    """Returns why the test cannot run here, or None."""
    with open(binary, "rb") as f:
        if b"__asan_init" in f.read():
            return "the package is built from source, not from this build: run in the plain build"
    if os.geteuid() != 0:
        return "needs root (installs packages)"
    for tool in ("dpkg-buildpackage", "dpkg", "apt-get", "ip", "tcpreplay", "setpriv"):
        if not shutil.which(tool):
            return "no %s on this machine" % tool
    if any(installed(p) for p in PKGS):
        return "linkwatch is already installed here: the test would remove it"
    if os.path.exists("/etc/linkwatch"):
        return "/etc/linkwatch exists (the operator's configuration): the test would replace it"
    rc, out = run(["dpkg-checkbuilddeps"], cwd=lwtest.srcdir())
    if rc != 0:
        return "build dependencies missing: " + out.strip()[-300:]
    return None


def copy_tree(src, dst):
    """The source tree without build folders: git's files when it is a clone."""
    rc, out = run(["git", "-C", src, "ls-files", "-co", "--exclude-standard", "-z"]) \
        if shutil.which("git") else (1, "")
    if rc == 0 and out:
        for f in out.split("\0"):
            if f and os.path.isfile(os.path.join(src, f)):
                os.makedirs(os.path.dirname(os.path.join(dst, f)), exist_ok=True)
                shutil.copy2(os.path.join(src, f), os.path.join(dst, f))
        return
    skip = {"build", "demo-out", "data", "autom4te.cache", "build-aux"}
    shutil.copytree(src, dst, ignore=lambda d, names: [n for n in names if n in skip or n.startswith("build-")
                                                        or n in ("configure", "Makefile.in", "aclocal.m4")])


def build(tap, tmp):
    """Builds the packages once; returns {package: .deb path} or None."""
    tree = os.path.join(tmp, "src", "linkwatch")
    copy_tree(lwtest.srcdir(), tree)
    env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck parallel=2")
    t0 = time.time()
    rc, out = run(["dpkg-buildpackage", "-b", "-us", "-uc"], cwd=tree, env=env, timeout=3600)
    debs = {p: (glob.glob(os.path.join(tmp, "src", "%s_*.deb" % p)) or [None])[0] for p in PKGS}
    if not tap.ok(rc == 0 and all(debs.values()), "dpkg-buildpackage -b -us -uc builds %s (%.0f s)"
                  % (", ".join(PKGS), time.time() - t0), out[-3000:]):
        return None
    changes = glob.glob(os.path.join(tmp, "src", "linkwatch_*.changes"))
    if shutil.which("lintian") and changes:
        rc, out = run(["lintian", "--pedantic", "--display-info", "--fail-on", "none", changes[0]])
        tags = [l for l in out.splitlines() if re.match(r"[EWIPX]: ", l)]
        tap.ok(not tags, "lintian --pedantic --display-info: no tag (overrides have reasons)", "\n".join(tags))
    else:
        tap.ok(True, "lintian # SKIP lintian not installed")
    return debs


def conffiles():
    rc, out = run(["dpkg-query", "-W", "-f=${Conffiles}\\n", "linkwatch"])
    return {l.split()[0] for l in out.splitlines() if l.strip()}


def mode_owner(path):
    st = os.stat(path)
    return "%s:%s %04o" % (pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name, st.st_mode & 0o7777)


def check_install(tap, debs, user_existed):
    rc, out = run(["apt-get", "install", "-y", "--no-install-recommends", debs["linkwatch"],
                   debs["linkwatch-console"]], env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    if not tap.ok(rc == 0 and all(installed(p) for p in PKGS), "apt-get install ./linkwatch_*.deb "
                  "./linkwatch-console_*.deb", out[-3000:]):
        return False
    try:
        pw = pwd.getpwnam("linkwatch")
    except KeyError:
        pw = None
    tap.ok(pw and pw.pw_uid < 1000 and pw.pw_shell.endswith("nologin"),
           "the linkwatch system user exists (nologin)%s" % (" (it existed before)" if user_existed else ""), pw)
    for d in ("/var/log/linkwatch", "/var/spool/linkwatch"):
        tap.ok(os.path.isdir(d) and mode_owner(d) == "root:linkwatch 0750", "%s is root:linkwatch 0750" % d,
               os.path.isdir(d) and mode_owner(d))
    y = "/etc/linkwatch/linkwatch.yaml"
    tap.ok(os.path.exists(y) and mode_owner(y) == "root:linkwatch 0640", "%s is root:linkwatch 0640" % y,
           os.path.exists(y) and mode_owner(y))
    shipped = {"/etc/linkwatch/rules/" + os.path.basename(f)
               for f in glob.glob(os.path.join(lwtest.srcdir(), "rules", "*.rules"))}
    cf = conffiles()
    want = shipped | {y, "/etc/linkwatch/rules/threshold.config", "/etc/linkwatch/rules/classification.config",
                      "/etc/logrotate.d/linkwatch"}
    tap.ok(want <= cf, "conffiles: linkwatch.yaml, every shipped rule file (%d), threshold and "
           "classification, the logrotate file" % len(shipped), sorted(want - cf))
    pages = ["/usr/share/man/man8/linkwatch.8.gz", "/usr/share/man/man8/linkwatchctl.8.gz",
             "/usr/share/man/man8/linkwatch-console.8.gz", "/usr/share/man/man5/linkwatch.yaml.5.gz"]
    tap.ok(all(os.path.exists(p) for p in pages), "man pages linkwatch(8), linkwatchctl(8), "
           "linkwatch-console(8), linkwatch.yaml(5)", [p for p in pages if not os.path.exists(p)])
    rc, out = run(["/usr/bin/linkwatch", "--version"])
    ver = re.search(r"AC_INIT\(\[linkwatch\], \[([^]]+)\]", open(os.path.join(lwtest.srcdir(), "configure.ac")).read())
    tap.ok(rc == 0 and ver and out.strip() == "linkwatch " + ver.group(1), "/usr/bin/linkwatch --version", out)
    rc, out = run(["/usr/bin/linkwatch", "-T", "-c", y])
    tap.ok(rc == 0 and re.search(r"rules: [1-9]\d* loaded, 0 failed", out),
           "linkwatch -T of the installed configuration: the shipped rules load", out[-1500:])
    for u in ("linkwatch@.service", "linkwatch-console.service"):
        path = os.path.join(UNIT_DIR, u)
        if not shutil.which("systemd-analyze"):
            tap.ok(os.path.exists(path), "%s installed" % u)
            continue
        target = path.replace("@.service", "@lwcheck.service")
        if target != path:
            shutil.copy(path, "/run/" + os.path.basename(target))
            target = "/run/" + os.path.basename(target)
        rc, out = run(["systemd-analyze", "verify", "--man=no", target])
        if target != path:
            os.unlink(target)
        tap.ok(rc == 0 and not out.strip(), "%s installed; systemd-analyze verify is silent" % u, out)
    return True


def edit_config(sock, console_port):
    """What the README has the operator do: Redis on, the console's port."""
    y = "/etc/linkwatch/linkwatch.yaml"
    with open(y) as f:
        text = f.read()
    text = text.replace("redis:\n  # Write to Redis. Default: no.\n  enabled: no\n",
                        "redis:\n  # Write to Redis. Default: no.\n  enabled: yes\n")
    text = re.sub(r"(\nredis:\n(?:  .*\n|\n)*?  server: )127\.0\.0\.1", r"\g<1>" + sock, text)
    text = text.replace('  listen: "127.0.0.1:8080"', '  listen: "127.0.0.1:%d"' % console_port)
    with open(y, "w") as f:
        f.write(text)
    return "enabled: yes" in text and sock in text and str(console_port) in text


class SensorService:
    """linkwatch@IFACE: started by systemd when it runs, else by hand."""

    def __init__(self, ns, iface, tmp):
        self.ns, self.iface, self.tmp = ns, iface, tmp
        self.unit = lwunit.Unit(os.path.join(UNIT_DIR, "linkwatch@.service"), iface)
        self.name = "linkwatch@%s.service" % iface
        self.p = None
        self.n = 0
        self.dropin = "/run/systemd/system/%s.d" % self.name

    def start(self):
        """Returns (ok, why)."""
        self.n += 1
        if lwunit.systemd_running():
            os.makedirs(self.dropin, exist_ok=True)
            with open(os.path.join(self.dropin, "netns.conf"), "w") as f:
                f.write("[Service]\nNetworkNamespacePath=/run/netns/%s\n" % self.ns)
            run(["systemctl", "daemon-reload"])
            rc, out = run(["systemctl", "start", self.name])
            return rc == 0, out
        for d, mode in self.unit.runtime_dirs():
            os.makedirs(d, exist_ok=True)
            os.chmod(d, mode)
        wrap = ["ip", "netns", "exec", self.ns] + self.unit.setpriv()
        um = self.unit.umask()
        for argv in self.unit.commands("ExecStartPre"):
            rc, out = run(wrap + argv, preexec_fn=lambda: os.umask(um))
            if rc != 0:
                return False, "ExecStartPre %s: %s" % (" ".join(argv), out)
        argv = self.unit.commands("ExecStart")[0]
        self.out = open(os.path.join(self.tmp, "sensor%d.out" % self.n), "w+")
        self.p = subprocess.Popen(wrap + argv, stdout=self.out, stderr=subprocess.STDOUT,
                                  preexec_fn=lambda: os.umask(um))
        return True, " ".join(argv)

    def pid(self):
        if self.p is not None:
            return self.p.pid
        rc, out = run(["systemctl", "show", "-p", "MainPID", "--value", self.name])
        return int(out.strip() or 0) or None

    def stop(self):
        """SIGTERM, as systemctl stop does. Returns (exit status, output)."""
        if self.p is None:
            rc, out = run(["systemctl", "stop", self.name])
            st = run(["systemctl", "show", "-p", "ExecMainStatus", "--value", self.name])[1].strip()
            return int(st or 0), out + run(["journalctl", "-u", self.name, "-n", "50", "--no-pager"])[1]
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.out.seek(0)
        out = self.out.read()
        self.out.close()
        rc, self.p = self.p.returncode, None
        return rc, out

    def cleanup(self):
        if self.p is not None:
            lwtest.stop_process(self.p)
        if lwunit.systemd_running():
            run(["systemctl", "stop", self.name])
            shutil.rmtree(self.dropin, ignore_errors=True)
            run(["systemctl", "daemon-reload"])


def ctl(sock, *args):
    return run(["/usr/bin/linkwatchctl", "-s", sock] + list(args), timeout=60)


def wait_up(svc, sock, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if ctl(sock, "stats")[0] == 0:
            return True
        if svc.p is not None and svc.p.poll() is not None:
            return False
        time.sleep(0.1)
    return False


def thread_ids(pid):
    out = set()
    for t in glob.glob("/proc/%d/task/*/status" % pid):
        try:
            with open(t) as f:
                d = dict(l.split(":", 1) for l in f if ":" in l)
            out.add((tuple(d["Uid"].split()), tuple(d["Gid"].split())))
        except (OSError, KeyError):
            pass
    return out


def read_lines(path):
    """Every line of a (gzipped) EVE file, parsed; raises on a broken line."""
    op = gzip.open if path.endswith(".gz") else open
    out = []
    with op(path, "rt", encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.endswith("\n"):
                raise ValueError("%s:%d: cut short" % (path, n))
            out.append(json.loads(line))
    return out


def thrice(lo, out, spacing_us):
    """lo three times back to back, evenly spaced at the replay rate: the
    capture replayed while logrotate runs, and its offline reference."""
    lt, recs = read_pcap(lo)
    t0 = recs[0][0]
    recs = [(t0 + i * spacing_us, orig, data) for i, (_, orig, data) in enumerate(recs * 3)]
    with open(out, "wb") as f:
        f.write(pcap_header(lt) + records_bytes(recs, 0))
    return len(recs)


def sensor_checks(tap, svc, ns, iface, cap, npk, base, logdir, sock, pw):
    ok, why = svc.start()
    if not tap.ok(ok and wait_up(svc, sock), "%s started (%s); its control socket answers"
                  % (svc.name, "systemctl" if lwunit.systemd_running() else "ExecStart by hand"), why):
        tap.note(svc.stop()[1][-2000:])
        return False
    pid = svc.pid()
    want = {(tuple([str(pw.pw_uid)] * 4), tuple([str(pw.pw_gid)] * 4))}
    ids = set()
    for _ in range(100):                 # the drop follows the control socket by a moment
        ids = thread_ids(pid) if pid else set()
        if ids == want:
            break
        time.sleep(0.1)
    tap.ok(ids == want, "every thread of the sensor runs as linkwatch (uid %d)" % pw.pw_uid, ids)
    eve = os.path.join(logdir, "eve.json")
    # The replay takes npk / PPS seconds; two rotations while it runs (the
    # sensor writes a stats event every second besides the flows).
    rp = replay_start(ns, cap, PPS, iface + "p")
    rot = []
    state = os.path.join(svc.tmp, "logrotate.state")
    for i in (1, 2):
        time.sleep(npk / PPS / 3)
        if shutil.which("logrotate"):
            rot.append(run(["logrotate", "-f", "-s", state, "/etc/logrotate.d/linkwatch"]))
    replayed = replay_wait(rp, npk, PPS)
    time.sleep(1.5)
    rc, out = svc.stop()
    tap.ok(replayed == 0 and rc == 0, "%d packets replayed at %d/s; the sensor stops on SIGTERM with "
           "status 0" % (npk, PPS), out[-2000:])
    st = os.stat(eve) if os.path.exists(eve) else None
    tap.ok(st and st.st_uid == pw.pw_uid and os.stat(logdir).st_uid == pw.pw_uid,
           "%s and its folder belong to linkwatch" % eve, st)
    files = [f for f in (eve + ".2.gz", eve + ".1", eve) if os.path.exists(f)]
    try:
        events = [e for f in files for e in read_lines(f)]
        whole = None
    except ValueError as e:
        events, whole = [], str(e)
    if shutil.which("logrotate"):
        tap.ok(all(r[0] == 0 for r in rot) and files == [eve + ".2.gz", eve + ".1", eve],
               "logrotate -f twice with the shipped file while the sensor writes: eve.json.2.gz, "
               "eve.json.1, eve.json", "%s %s" % (rot, files))
        tap.ok(whole is None and events, "every line of the three files is whole JSON", whole)
        c = {k: v for k, v in lwtest.summary_events(out).items() if v}   # a type never written has no line
        got = {}
        for e in events:
            got[e.get("event_type")] = got.get(e.get("event_type"), 0) + 1
        tap.ok(c and got == c, "no event lost at the rotations: the files hold what the sensor wrote (%s)"
               % ", ".join("%s %d" % kv for kv in sorted(c.items())), "summary %s, files %s" % (c, got))
    else:
        tap.ok(True, "logrotate # SKIP logrotate not installed")
    fl, fb = flow_keys(events), flow_keys(base.events)
    tap.ok(fl == fb and fl, "the sensor's flows are the %d of the offline run of the same %d packets"
           % (len(fb), npk), "live %d vs offline %d" % (len(fl), len(fb)))
    al, ab = alert_keys(events), alert_keys(base.events)
    tap.ok(al == ab and al, "and its %d alerts" % len(ab), "live %d vs offline %d" % (len(al), len(ab)))
    # A restart: root now reopens the files the previous run gave to linkwatch.
    before = len(read_lines(eve)) if os.path.exists(eve) else 0
    ok, why = svc.start()
    up = ok and wait_up(svc, sock)
    if up:
        time.sleep(1.5)                  # a stats event or two
    rc, out2 = svc.stop()
    after = len(read_lines(eve)) if up and os.path.exists(eve) else 0
    tap.ok(up and rc == 0 and after > before,
           "a second start (the files belong to linkwatch now) runs and appends to eve.json (%d -> %d events)"
           % (before, after), (why + "\n" + out2)[-2000:])
    return True


def console_checks(tap, tmp, console_port, sensor_alerts, pw):
    """linkwatch-console.service's ExecStart as the linkwatch user, the users
    file handed over as systemd's LoadCredential= would."""
    rc, out = run(["/usr/bin/linkwatch-console", "-c", "/etc/linkwatch/linkwatch.yaml", "--add-user", "analyst"],
                  input=b"first-hour-password\n")
    if not tap.ok(rc == 0 and os.path.exists("/etc/linkwatch/console-users"),
                  "linkwatch-console --add-user analyst", out):
        return
    creds = os.path.join(tmp, "credentials")
    os.makedirs(creds)
    shutil.copy("/etc/linkwatch/console-users", creds)
    for p in (creds, os.path.join(creds, "console-users")):
        os.chown(p, pw.pw_uid, pw.pw_gid)
    os.chmod(creds, 0o500)
    os.chmod(tmp, 0o755)
    unit = lwunit.Unit(os.path.join(UNIT_DIR, "linkwatch-console.service"), "", creds)
    argv = unit.setpriv() + unit.commands("ExecStart")[0]
    log = open(os.path.join(tmp, "console.out"), "w+")
    um = unit.umask()
    p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, preexec_fn=lambda: os.umask(um))
    try:
        up = False
        end = time.time() + 20
        while time.time() < end and p.poll() is None and not up:
            try:
                socket.create_connection(("127.0.0.1", console_port), timeout=1).close()
                up = True
            except OSError:
                time.sleep(0.1)
        log.seek(0)
        if not tap.ok(up, "linkwatch-console.service's ExecStart as linkwatch listens on 127.0.0.1:%d"
                      % console_port, log.read()[-2000:]):
            return
        import base64
        import urllib.request
        req = urllib.request.Request("http://127.0.0.1:%d/api/alerts?limit=1000" % console_port, headers={
            "Authorization": "Basic " + base64.b64encode(b"analyst:first-hour-password").decode()})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                body = json.loads(r.read().decode())
        except (OSError, ValueError) as e:
            body = {"error": str(e)}
        got = sorted(a["event"]["alert"]["signature_id"] for a in body.get("alerts", []))
        want = sorted(e["alert"]["signature_id"] for e in sensor_alerts)
        tap.ok(got and got == want, "the console lists the sensor's %d alerts (the first alert of the README)"
               % len(want), "console %s vs eve %s" % (got[:10], want[:10]))
    finally:
        lwtest.stop_process(p)
        log.close()


def main():
    tap = lwtest.Tap()
    binary = lwtest.find_binary()
    why = preconditions(binary)
    if why:
        lwtest.skip(why)
    py = lwtest.require_scapy()
    user_existed = True
    try:
        pwd.getpwnam("linkwatch")
    except KeyError:
        user_existed = False
    iface = "lwpk%d" % (os.getpid() % 100000)
    ns = None
    svc = None
    rs = None
    rundir = None
    with lwtest.TempDir("lwpkg-") as tmp:
        try:
            debs = build(tap, tmp)
            if not debs or not check_install(tap, debs, user_existed):
                return tap.done()
            pw = pwd.getpwnam("linkwatch")
            ns = veth_namespace(tap, "lwpkg%d" % os.getpid(), ends=(iface + "p", iface))
            if ns is None:
                return tap.done()
            demo, _ = lwtest.demo_capture(tmp)
            lo = os.path.join(tmp, "demo-lo.pcap")
            rewrite_loopback(py, demo, lo, spacing_us=1000000 // PPS)
            cap = os.path.join(tmp, "demo-lo-x3.pcap")
            npk = thrice(lo, cap, 1000000 // PPS)
            # Redis on a unix socket in /run: the sensor in the test's namespace and the
            # console outside it both reach it, with PrivateTmp= too.
            rundir = "/run/lwpkg-%d" % os.getpid()
            os.makedirs(rundir, mode=0o755)
            if lwredis.available():
                rs = lwredis.RedisServer(rundir, unixsocket=True, socketperm="777").start()
            console_port = lwredis.free_port()
            if rs:
                tap.ok(edit_config(rs.socket, console_port), "linkwatch.yaml edited as the README says: "
                       "redis.enabled yes, redis.server %s, console.listen port %d" % (rs.socket, console_port))
            os.environ["LINKWATCH"] = "/usr/bin/linkwatch"
            base = lwtest.run_sensor(cap, os.path.join(tmp, "offline"), [
                "-c", "/etc/linkwatch/linkwatch.yaml", "--set", "home-net=[127.10.0.0/16]",
                "--set", "redis.enabled=no", "--set", "metrics.enabled=no", "--set", "control.socket="])
            tap.ok(base.rc == 0 and base.flows, "/usr/bin/linkwatch -r on the capture to replay: %d flows, %d alerts"
                   % (len(base.flows), len(base.of_type("alert"))), base.stderr[-1500:])
            with open("/etc/linkwatch/%s.env" % iface, "w") as f:
                f.write('LINKWATCH_OPTS="--set home-net=[127.10.0.0/16] --set stats.interval=1"\n')
            svc = SensorService(ns, iface, tmp)
            logdir = "/var/log/linkwatch/" + iface
            sock = "/run/linkwatch/%s/control.sock" % iface
            sensor_checks(tap, svc, ns, iface, cap, npk, base, logdir, sock, pw)
            alerts = [e for f in sorted(glob.glob(logdir + "/eve.json*")) for e in read_lines(f)
                      if e.get("event_type") == "alert"]
            if rs:
                console_checks(tap, tmp, console_port, alerts, pw)
            else:
                tap.ok(True, "console # SKIP redis-server not installed")
            remove_purge(tap)
        finally:
            if svc:
                svc.cleanup()
            if rs:
                rs.stop()
            if rundir:
                shutil.rmtree(rundir, ignore_errors=True)
            if ns:
                veth_namespace_del(ns)
            for p in PKGS[::-1]:
                if status(p) and "not-installed" not in status(p):
                    run(["dpkg", "--purge", p])
            if not user_existed:
                run(["userdel", "linkwatch"])
                run(["groupdel", "linkwatch"])
    tap.done()


def remove_purge(tap):
    rc, out = run(["apt-get", "remove", "-y"] + list(PKGS), env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    kept = [f for f in sorted(conffiles()) if os.path.exists(f)]
    y = "/etc/linkwatch/linkwatch.yaml"
    tap.ok(rc == 0 and not os.path.exists("/usr/bin/linkwatch") and status("linkwatch").endswith("config-files")
           and y in kept and "enabled: yes" in open(y).read() and len(kept) == len(conffiles()),
           "apt-get remove: the programs go, the %d conffiles stay (the edited linkwatch.yaml too)" % len(kept),
           out[-1500:])
    rc, out = run(["dpkg", "--purge"] + list(PKGS))
    left = [p for p in ("/etc/linkwatch", "/etc/logrotate.d/linkwatch", "/var/log/linkwatch", "/var/spool/linkwatch")
            if os.path.exists(p)]
    tap.ok(rc == 0 and not left and all(status(p) in ("", "unknown ok not-installed") for p in PKGS),
           "dpkg --purge: the configuration, the logs and the spool are gone", "%s %s" % (left, out[-1500:]))


if __name__ == "__main__":
    sys.exit(main())
