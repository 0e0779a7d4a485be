"""lwtest.py - helpers for linkwatch's Python integration tests.

Environment (set by `make check`; defaults let a test run by hand from the
source tree):
  LINKWATCH    the sensor binary
  LW_SRCDIR    the source tree
  LW_BUILDDIR  the build tree
  LW_CORPUS    the shared test corpus (pcaps/, reference/, ...)

Exit codes follow automake: 0 pass, 1 fail, 77 skip, 99 hard error.
Output is TAP-like: "ok N - what", "not ok N - what", "# notes".
"""

import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
HARD_ERROR = 99

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "ERROR: ThreadSanitizer",
                   "WARNING: ThreadSanitizer", "ERROR: MemorySanitizer")


def srcdir():
    d = os.environ.get("LW_SRCDIR")
    if d:
        return d
    return os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def builddir():
    return os.environ.get("LW_BUILDDIR") or srcdir()


def slow():
    """How many times slower than a plain build the sensor runs here:
    $LW_SLOW (tests/run sets it for the ThreadSanitizer pass), else 1. Live
    tests divide their replay rates by it, so that a checking build is not
    mistaken for a sensor that drops packets."""
    try:
        return max(1, int(os.environ.get("LW_SLOW", "1")))
    except ValueError:
        return 1


def skip(why):
    print("SKIP: " + why)
    sys.exit(SKIP)


def find_binary():
    """The sensor binary: $LINKWATCH, else linkwatch in the build tree.
    Skips the test when there is none (the build failed or was not run)."""
    cands = [os.environ.get("LINKWATCH"),
             os.path.join(builddir(), "linkwatch"),
             os.path.join(srcdir(), "build", "linkwatch")]
    for c in cands:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    skip("linkwatch binary not found (set LINKWATCH)")


def find_corpus():
    """The corpus directory from $LW_CORPUS; prints 'SKIP: corpus not found'
    and exits 77 when it is missing."""
    d = os.environ.get("LW_CORPUS")
    if not d:
        d = os.path.join(srcdir(), "..", "shared", "corpus")
    if not os.path.isdir(os.path.join(d, "pcaps")):
        skip("corpus not found")
    return os.path.abspath(d)


def scapy_python():
    """An interpreter that can import scapy: this one, else Debian's
    /usr/bin/python3 (python3-scapy), else None."""
    cands = [sys.executable, "/usr/bin/python3"]
    for c in cands:
        if not c or not os.path.exists(c):
            continue
        r = subprocess.run([c, "-c", "import scapy.layers.inet"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode == 0:
            return c
    return None


def stop_process(proc, timeout=10):
    """Ends a child politely (SIGTERM), then firmly (SIGKILL) if it does not
    exit within timeout seconds. Does nothing for None or an exited one."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


def require_scapy():
    """scapy_python(), or skip the test when there is none."""
    py = scapy_python()
    if py is None:
        skip("no python3 with scapy (apt-get install python3-scapy)")
    return py
def generate_cases(script, outdir):
    """Runs tests/gen/SCRIPT OUTDIR with a python that has scapy and
    returns OUTDIR/expected.json. Skips the test without scapy; a failing
    generator is a hard error."""
    py = scapy_python()
    if py is None:
        skip("no python3 with scapy (apt-get install python3-scapy)")
    gen = os.path.join(srcdir(), "tests", "gen", script)
    r = subprocess.run([py, gen, outdir], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        print("Bail out! %s failed: %s" % (script, r.stderr.decode("utf-8", "replace")))
        sys.exit(HARD_ERROR)
    with open(os.path.join(outdir, "expected.json")) as f:
        return json.load(f)


def mkmmdb(spec, out, dbtype="GeoIP2-Country"):
    """Builds the MaxMind DB out from the text spec file spec with the
    build's tests/gen/mkmmdb (`make check` builds it). Returns out; a spec
    mkmmdb refuses is a hard error; without mkmmdb the test is skipped."""
    tool = os.path.join(builddir(), "tests", "gen", "mkmmdb")
    if not os.access(tool, os.X_OK):
        skip("tests/gen/mkmmdb not built (make check builds it)")
    with open(spec) as f:
        r = subprocess.run([tool, out, dbtype], stdin=f, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        print("Bail out! mkmmdb %s: %s" % (spec, r.stdout.decode("utf-8", "replace")))
        sys.exit(HARD_ERROR)
    return out


def demo_capture(outdir):
    """Writes outdir/demo.pcap (tests/gen/gen_demo.py) and outdir/demo.mmdb,
    a country database that places the demo's outside peers. Returns both
    paths. Skips the test without scapy or mkmmdb."""
    py = scapy_python()
    if py is None:
        skip("no python3 with scapy (apt-get install python3-scapy)")
    pcap, spec = os.path.join(outdir, "demo.pcap"), os.path.join(outdir, "demo-country.spec")
    subprocess.run([py, os.path.join(srcdir(), "tests", "gen", "gen_demo.py"), pcap, spec],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return pcap, mkmmdb(spec, os.path.join(outdir, "demo.mmdb"))


class TempDir:
    """A scratch directory removed on exit unless LW_KEEP is set (then its
    path is printed so a failure can be looked at)."""

    def __init__(self, prefix="lwtest-"):
        self.path = tempfile.mkdtemp(prefix=prefix)

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        if os.environ.get("LW_KEEP"):
            print("# kept " + self.path)
        else:
            shutil.rmtree(self.path, ignore_errors=True)
        return False


class Run:
    """The outcome of one sensor run."""

    def __init__(self, argv, rc, stdout, stderr, logdir):
        self.argv = argv
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.logdir = logdir
        self._events = None

    @property
    def events(self):
        if self._events is None:
            self._events = read_eve(os.path.join(self.logdir, "eve.json"))
        return self._events

    def of_type(self, t):
        return [e for e in self.events if e.get("event_type") == t]

    @property
    def flows(self):
        return self.of_type("flow")

    def final_stats(self):
        """The last stats event's "stats" object ({} when none)."""
        s = self.of_type("stats")
        return s[-1].get("stats", {}) if s else {}

    def sanitizer_report(self):
        """The first line of a sanitizer report on stderr, or None."""
        for line in self.stderr.splitlines():
            for m in SANITIZER_MARKS:
                if m in line:
                    return line.strip()
        return None


def run_sensor(pcap, logdir, extra=(), timeout=300):
    """Runs `linkwatch -r PCAP -l LOGDIR [extra...]` and returns a Run.
    LOGDIR is created if needed. A run that hangs past timeout counts as
    rc -9 with a note on stderr."""
    binary = find_binary()
    os.makedirs(logdir, exist_ok=True)
    argv = [binary, "-r", pcap, "-l", logdir] + list(extra)
    env = dict(os.environ)
    # Keep sanitizer reports on stderr and make them fatal for the exit code.
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    try:
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, env=env)
        return Run(argv, r.returncode, r.stdout.decode("utf-8", "replace"),
                   r.stderr.decode("utf-8", "replace"), logdir)
    except subprocess.TimeoutExpired as e:
        return Run(argv, -9, (e.stdout or b"").decode("utf-8", "replace"),
                   (e.stderr or b"").decode("utf-8", "replace") + "\n(timed out)", logdir)


def summary_events(stdout):
    """{event type: n} of the run summary's "events:" line (the events the
    sensor handed to its outputs), {} when there is none."""
    m = re.search(r"^\s*events: (.*?) -> ", stdout, re.M)
    return {k: int(v) for k, v in re.findall(r"(\w+) (\d+)", m.group(1))} if m else {}


def read_eve(path):
    """Every JSON object in an EVE file, in order. A line that is not valid
    JSON raises ValueError naming the line: the sensor must never write one."""
    out = []
    if not os.path.exists(path):
        return out
    with open(path, "r", encoding="utf-8", errors="strict") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except ValueError as e:
                raise ValueError("%s:%d: not JSON: %s" % (path, n, e))
    return out


def norm_ip(a):
    """Canonical text of an address (so 2001:db8:0::1 equals 2001:db8::1);
    anything unparsable is returned unchanged."""
    try:
        return str(ipaddress.ip_address(a))
    except (ValueError, TypeError):
        return a


def dig(obj, path, default=None):
    """obj["a"]["b"]... for path "a.b..." where a key may itself contain
    dots: decoder.event.tunnel.too_deep finds stats["decoder"]["event"]
    ["tunnel.too_deep"]. Returns default when absent."""
    parts = path.split(".")
    cur = obj
    i = 0
    while i < len(parts):
        if not isinstance(cur, dict):
            return default
        for j in range(len(parts), i, -1):
            k = ".".join(parts[i:j])
            if k in cur:
                cur = cur[k]
                i = j
                break
        else:
            return default
    return cur


class Tap:
    """TAP-like reporting. ok() prints one numbered line per check and
    remembers failures; done() prints the plan and exits 1 on failure."""

    def __init__(self):
        self.n = 0
        self.failed = 0
        self.todo = 0

    def ok(self, cond, what, detail=None, todo=None):
        self.n += 1
        suffix = ""
        if todo:
            suffix = " # TODO " + todo
        if cond:
            print("ok %d - %s%s" % (self.n, what, suffix))
        else:
            print("not ok %d - %s%s" % (self.n, what, suffix))
            if detail:
                for line in str(detail).splitlines():
                    print("#   " + line)
            if todo:
                self.todo += 1
            else:
                self.failed += 1
        sys.stdout.flush()
        return bool(cond)

    def note(self, msg):
        for line in str(msg).splitlines():
            print("# " + line)
        sys.stdout.flush()

    def done(self):
        print("1..%d" % self.n)
        if self.failed:
            print("# %d of %d checks failed" % (self.failed, self.n))
            sys.exit(1)
        if self.todo:
            print("# %d known failures (TODO)" % self.todo)
        sys.exit(0)
