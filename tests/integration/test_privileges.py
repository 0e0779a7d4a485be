#!/usr/bin/env python3
"""test_privileges.py - linkwatch opens the capture as root, then runs as
privileges.user before it parses the first packet.

Run as root with a user this test creates (useradd, removed after):
1. Offline, through a FIFO: every thread's real, effective, saved and
   filesystem uid/gid are the user's (/proc/PID/task/*/status), the only
   supplementary group is the user's, no capabilities, no_new_privs; the
   demo capture gives the same flows and alerts as a run that stays root;
   a rule reload and a log reopen work after the drop; the user itself can
   use the control socket; EVE file and spool belong to the user; the
   socket is removed at exit.
2. privileges.chroot: the same capture inside an empty chroot folder.
3. Live: `linkwatch -i` on a veth pair in a namespace this test creates,
   the demo capture (rewritten to loopback addresses) replayed into the
   other end: dropped ids while capturing, the flows and alerts of the
   offline run of the same capture, a reload, kernel drops 0.
4. Refusals: an unknown user, root as the user, a group without a user.
(Skipped when not root or without useradd.)

The dropped user reads the configuration's rule files (on reload) and runs
linkwatchctl, so everything it needs is copied into a tree this test makes
(binaries, linkwatch.yaml, rules/): the clone itself may sit where the user
cannot go (a 0700 home folder).
"""

import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import time

import lwtest
from lwsensor import (Sensor, alert_keys, feed, flow_keys, idle_sensor, make_demo, replay,
                      rewrite_loopback, stop_idle, veth_namespace, veth_namespace_del,
                      write_atomic)


def make_user():
    name = "lwpriv%d" % (os.getpid() % 1000000)
    r = subprocess.run(["useradd", "--system", "--no-create-home", "--user-group",
                        "--shell", "/usr/sbin/nologin", name],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        return None
    pw = pwd.getpwnam(name)
    return name, pw.pw_uid, pw.pw_gid


def del_user(name):
    subprocess.run(["userdel", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def reachable_tmp():
    """A folder for the test's tree whose every ancestor others may pass
    through: the system's temporary folder, else /tmp, else None."""
    for d in (tempfile.gettempdir(), "/tmp"):
        p, ok = os.path.abspath(d), True
        while ok and p != "/":
            ok = bool(os.stat(p).st_mode & stat.S_IXOTH)
            p = os.path.dirname(p)
        if ok:
            return d
    return None


def user_tree(tmp, binary, src):
    """Copies what the dropped user reads into tmp/tree (mode 0755/0644):
    linkwatch and linkwatchctl, linkwatch.yaml and rules/*.config. Returns
    (tree, binary in the tree): the tree stands for the source folder."""
    tree = os.path.join(tmp, "tree")
    os.makedirs(os.path.join(tree, "rules"))
    for b in ("linkwatch", "linkwatchctl"):
        shutil.copy(os.path.join(os.path.dirname(binary), b), tree)
    shutil.copy(os.path.join(src, "linkwatch.yaml"), tree)
    for f in os.listdir(os.path.join(src, "rules")):
        if f.endswith(".config"):
            shutil.copy(os.path.join(src, "rules", f), os.path.join(tree, "rules"))
    for root, dirs, files in os.walk(tree):
        os.chmod(root, 0o755)
        for f in files:
            p = os.path.join(root, f)
            os.chmod(p, 0o755 if os.access(p, os.X_OK) else 0o644)
    return tree, os.path.join(tree, "linkwatch")


def status_lines(pid):
    """{tid: {key: value}} of /proc/PID/task/*/status (Uid, Gid, Groups, CapEff, NoNewPrivs)."""
    out = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                d = {}
                for line in f:
                    k, _, v = line.partition(":")
                    d[k] = v.split()
                out[tid] = d
        except OSError:
            pass
    return out


def sensor_pid(p):
    """The linkwatch process: p itself, or (ip netns exec) its child."""
    for _ in range(50):
        try:
            with open("/proc/%d/comm" % p.pid) as f:
                if f.read().strip() == "linkwatch":
                    return p.pid
        except OSError:
            return None
        time.sleep(0.05)
    return None


def check_ids(tap, what, pid, uid, gid):
    st = status_lines(pid) if pid else {}
    bad = [(t, d.get("Uid"), d.get("Gid"), d.get("Groups")) for t, d in st.items()
           if d.get("Uid") != [str(uid)] * 4 or d.get("Gid") != [str(gid)] * 4
           or d.get("Groups") != [str(gid)]]
    tap.ok(st and not bad, "%s: all %d threads run as uid %d gid %d (real, effective, saved, fs; "
           "no other group)" % (what, len(st), uid, gid), bad[:3] or "no /proc status")
    caps = {d.get("CapEff", ["?"])[0] for d in st.values()}
    nnp = {d.get("NoNewPrivs", ["?"])[0] for d in st.values()}
    tap.ok(caps == {"0000000000000000"} and nnp == {"1"},
           "%s: no effective capabilities, no_new_privs set" % what, (caps, nnp))


def clean_exit(s):
    return s.p.returncode == 0 and not any(m in s.err for m in lwtest.SANITIZER_MARKS)


def offline(tap, binary, src, tmp, user, uid, gid, demo, rules, base):
    extra = ["-S", rules, "--set", "privileges.user=" + user]
    run = os.path.join(tmp, "run")       # the user's, like /run/linkwatch under systemd
    os.mkdir(run, 0o750)
    os.chown(run, uid, gid)
    s = idle_sensor(binary, src, run, "offline", None, extra)
    if not tap.ok(s.wait_socket(), "offline: sensor up as %s" % user, s.err[-2000:]):
        stop_idle(s)
        return
    check_ids(tap, "offline", s.p.pid, uid, gid)
    got = feed(s, demo)
    tap.ok(got > 0, "offline: %d packets read after the drop" % got)
    # The user itself (not only root) can talk to the socket it now owns.
    r = subprocess.run(["runuser", "-u", user, "--", s.ctl, "-s", s.sock, "stats"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    tap.ok(r.returncode == 0 and b"packets" in r.stdout, "offline: %s can use the control socket" % user,
           r.stdout.decode("utf-8", "replace"))
    with open(rules) as f:
        lines = f.read().splitlines()
    write_atomic(rules, "\n".join(lines[:-1]) + "\n")
    rc, j = s.ctl_json("reload")
    tap.ok(rc == 0 and j.get("status") == "ok" and j.get("version") == 2,
           "offline: a rule reload after the drop makes version 2", j)
    rc, out = s.ctl_run("reopen-logs")
    tap.ok(rc == 0, "offline: reopen-logs after the drop", out)
    eve = os.path.join(s.logdir, "eve.json")
    spool = os.path.join(s.logdir, "spool")
    owners = {p: os.stat(p).st_uid for p in (s.logdir, eve, spool) if os.path.exists(p)}
    owners.update({f: os.stat(os.path.join(spool, f)).st_uid for f in os.listdir(spool)}
                  if os.path.isdir(spool) else {})
    tap.ok(len(owners) >= 4 and set(owners.values()) == {uid},
           "offline: log folder, eve.json, spool folder and files belong to %s" % user, owners)
    stop_idle(s)
    tap.ok(clean_exit(s), "offline: exits 0", s.err[-2000:])
    tap.ok(not os.path.exists(s.sock), "offline: the control socket is removed at exit")
    ev = lwtest.read_eve(eve)
    tap.ok(flow_keys(ev) == flow_keys(base.events) and len(flow_keys(ev)) > 0,
           "offline: the same %d flows as a run that stays root" % len(flow_keys(base.events)),
           "%d vs %d" % (len(flow_keys(ev)), len(flow_keys(base.events))))
    tap.ok(alert_keys(ev) == alert_keys(base.events) and len(alert_keys(ev)) > 0,
           "offline: the same %d alerts as a run that stays root" % len(alert_keys(base.events)),
           "%d vs %d" % (len(alert_keys(ev)), len(alert_keys(base.events))))


def chrooted(tap, src, tmp, user, demo, rules, base):
    jail = os.path.join(tmp, "jail")
    os.mkdir(jail, 0o755)
    # LeakSanitizer reads /proc at exit, which an empty chroot has not.
    saved = os.environ.get("ASAN_OPTIONS")
    os.environ["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0"
    r = lwtest.run_sensor(demo, os.path.join(tmp, "out-chroot"),
                          ["-c", os.path.join(src, "linkwatch.yaml"), "-S", rules, "-v",
                           "--set", "privileges.user=" + user, "--set", "privileges.chroot=" + jail,
                           "--set", "metrics.enabled=no", "--set", "control.socket="])
    if saved is None:
        del os.environ["ASAN_OPTIONS"]
    else:
        os.environ["ASAN_OPTIONS"] = saved
    tap.ok(r.rc == 0 and "in chroot " + jail in r.stderr, "chroot: runs and says so", r.stderr[-2000:])
    tap.ok(flow_keys(r.events) == flow_keys(base.events),
           "chroot: the same flows as a run that stays root",
           "%d vs %d" % (len(flow_keys(r.events)), len(flow_keys(base.events))))


def live(tap, binary, src, tmp, py, user, uid, gid, demo, rules):
    ns = veth_namespace(tap, "lwpriv%d" % os.getpid())
    if ns is None:
        return
    try:
        lo = os.path.join(tmp, "demo-lo.pcap")
        npk = rewrite_loopback(py, demo, lo)
        common = ["-c", os.path.join(src, "linkwatch.yaml"), "-S", rules,
                  "--set", "home-net=[127.10.0.0/16]", "--set", "metrics.enabled=no"]
        base = lwtest.run_sensor(lo, os.path.join(tmp, "out-lo-offline"),
                                 common + ["--set", "control.socket="])
        sock = os.path.join(tmp, "live.sock")
        out = os.path.join(tmp, "out-live")
        s = Sensor([binary] + common + ["-i", "lwv1", "-l", out, "--set", "control.socket=" + sock,
                                        "--set", "privileges.user=" + user, "--set", "stats.interval=1"],
                   sock, netns=ns)
        if not tap.ok(s.wait_socket() and s.wait_capturing(), "live: sensor up as %s, capturing on lwv1" % user):
            s.ctl_run("shutdown")
            s.finish(timeout=30)
            tap.note(s.err[-2000:])
            return
        check_ids(tap, "live", sensor_pid(s.p), uid, gid)
        pps = 1000
        replay(ns, lo, npk, pps)
        rc, j = s.ctl_json("reload")
        tap.ok(rc == 0 and j.get("status") == "ok", "live: a rule reload after the drop", j)
        s.wait_packets(npk)
        s.ctl_run("shutdown")
        s.finish(timeout=60)
        tap.ok(clean_exit(s), "live: exits 0", s.err[-2000:])
        ev = lwtest.read_eve(os.path.join(out, "eve.json"))
        st = [e["stats"] for e in ev if e.get("event_type") == "stats"]
        cap = st[-1].get("capture", {}) if st else {}
        tap.ok(cap.get("kernel_drops", -1) == 0, "live: kernel drops 0 at %d packets/s" % pps, cap)
        tap.ok(flow_keys(ev) == flow_keys(base.events) and len(flow_keys(ev)) > 0,
               "live: the same %d flows as the offline run of the same %d packets"
               % (len(flow_keys(base.events)), npk),
               "live %d vs offline %d" % (len(flow_keys(ev)), len(flow_keys(base.events))))
        tap.ok(alert_keys(ev) == alert_keys(base.events),
               "live: the same %d alerts as the offline run" % len(alert_keys(base.events)),
               "live %d vs offline %d" % (len(alert_keys(ev)), len(alert_keys(base.events))))
    finally:
        veth_namespace_del(ns)


def refusals(tap, tmp, demo):
    for i, (sets, want) in enumerate(((["privileges.user=lw-no-such-user"], "no such user"),
                                      (["privileges.user=root"], "is root"),
                                      (["privileges.group=nogroup"], "need privileges.user"))):
        r = lwtest.run_sensor(demo, os.path.join(tmp, "out-refuse%d" % i),
                              sum((["--set", x] for x in sets), []) + ["--set", "metrics.enabled=no",
                                                                        "--set", "control.socket="])
        tap.ok(r.rc == 1 and want in r.stderr and not r.events,
               "refused before any packet: %s" % " ".join(sets), r.stderr[-1000:])


def main():
    tap = lwtest.Tap()
    built = lwtest.find_binary()
    py = lwtest.require_scapy()
    if os.geteuid() != 0:
        lwtest.skip("needs root (to start as root and drop)")
    if not shutil.which("useradd") or not shutil.which("runuser"):
        lwtest.skip("needs useradd and runuser")
    where = reachable_tmp()
    if where is None:
        lwtest.skip("no temporary folder other users can reach (TMPDIR and /tmp)")
    tempfile.tempdir = where
    u = make_user()
    if u is None:
        lwtest.skip("useradd failed")
    user, uid, gid = u
    try:
        with lwtest.TempDir("lwpriv-") as tmp:
            os.chmod(tmp, 0o755)            # the user reaches its log folder and socket by path
            src, binary = user_tree(tmp, built, lwtest.srcdir())
            os.environ["LINKWATCH"] = binary        # lwtest.run_sensor() runs the tree's copy
            demo = os.path.join(tmp, "demo.pcap")
            make_demo(py, demo)
            rules = os.path.join(tmp, "local.rules")
            text = ""
            for f in sorted(os.listdir(os.path.join(lwtest.srcdir(), "rules"))):
                if f.endswith(".rules"):
                    with open(os.path.join(lwtest.srcdir(), "rules", f)) as fh:
                        text += fh.read()
            write_atomic(rules, text)
            os.chmod(rules, 0o644)
            base = lwtest.run_sensor(demo, os.path.join(tmp, "out-root"),
                                     ["-c", os.path.join(src, "linkwatch.yaml"), "-S", rules,
                                      "--set", "metrics.enabled=no", "--set", "control.socket="])
            tap.ok(base.rc == 0, "baseline run as root", base.stderr[-1000:])
            offline(tap, binary, src, tmp, user, uid, gid, demo, rules, base)
            write_atomic(rules, text)
            os.chmod(rules, 0o644)
            chrooted(tap, src, tmp, user, demo, rules, base)
            live(tap, binary, src, tmp, py, user, uid, gid, demo, rules)
            refusals(tap, tmp, demo)
    finally:
        del_user(user)
    tap.done()


if __name__ == "__main__":
    main()
