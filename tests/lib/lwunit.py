"""lwunit.py - a systemd unit file read the way systemd reads it, for tests
on machines where systemd does not run (containers): the [Service]
settings, Environment= and EnvironmentFile=, the specifiers %i %I %H %d %%,
ExecStartPre=/ExecStart= command lines with ${VAR} and $VAR expanded, and
the part of the sandbox a test can reproduce (User=, Group=, UMask=,
CapabilityBoundingSet=, NoNewPrivileges=, RuntimeDirectory=) as a setpriv
command line and a few folders. What it cannot reproduce (ProtectSystem=,
SystemCallFilter=, ...) it ignores; systemd_running() tells when the real
thing can be used instead.
"""

import os
import re
import shlex
import socket


def systemd_running():
    """True when systemd is the init system (sd_booted())."""
    return os.path.isdir("/run/systemd/system")


def unescape(s):
    """systemd-escape --unescape: \\xNN back to the byte."""
    return re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), s)


class Unit:
    """One unit file. instance: the part after '@' for a template; creds:
    the folder %d stands for (LoadCredential=)."""

    def __init__(self, path, instance="", creds=""):
        self.path = path
        self.instance = instance
        self.creds = creds
        self.sections = {}
        cur, pending = None, ""
        with open(path) as f:
            for raw in f:
                line = raw.rstrip("\n")
                if pending:
                    line = pending + " " + line.lstrip()
                    pending = ""
                if line.endswith("\\"):
                    pending = line[:-1].rstrip()
                    continue
                s = line.strip()
                if not s or s[0] in "#;":
                    continue
                if s.startswith("[") and s.endswith("]"):
                    cur = self.sections.setdefault(s[1:-1], {})
                    continue
                k, _, v = s.partition("=")
                cur.setdefault(k.strip(), []).append(v.strip())

    def values(self, key, section="Service"):
        """Every value of key, in order (an empty assignment resets the list, as in systemd)."""
        out = []
        for v in self.sections.get(section, {}).get(key, []):
            out = [] if v == "" else out + [v]
        return out

    def last(self, key, default=None, section="Service"):
        v = self.sections.get(section, {}).get(key, [])
        return v[-1] if v else default

    def specifiers(self, s):
        table = {"i": self.instance, "I": unescape(self.instance), "H": socket.gethostname(),
                 "d": self.creds, "%": "%"}

        def one(m):
            if m.group(1) not in table:
                raise ValueError("%s: specifier %%%s not supported by lwunit" % (self.path, m.group(1)))
            return table[m.group(1)]
        return re.sub(r"%(.)", one, s)

    def environment(self):
        """Environment= then EnvironmentFile= (a '-' path may be missing)."""
        env = {}
        for v in self.sections.get("Service", {}).get("Environment", []):
            for item in shlex.split(self.specifiers(v)):
                k, _, val = item.partition("=")
                env[k] = val
        for v in self.values("EnvironmentFile"):
            path = self.specifiers(v.lstrip("-"))
            if not os.path.exists(path):
                if v.startswith("-"):
                    continue
                raise FileNotFoundError(path)
            with open(path) as f:
                for line in f:
                    line = line.strip()
                    if line and line[0] not in "#;" and "=" in line:
                        k, _, val = line.partition("=")
                        parts = shlex.split(val) if val.strip() else [""]
                        env[k.strip()] = " ".join(parts)
        return env

    def commands(self, key):
        """The argv of each key= line (ExecStartPre, ExecStart): prefixes
        stripped, specifiers and variables expanded."""
        env = self.environment()
        out = []
        for v in self.values(key):
            v = self.specifiers(v.lstrip("@-:+!"))
            argv = []
            for tok in shlex.split(v):
                m = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", tok)
                if m:
                    argv += env.get(m.group(1), "").split()
                else:
                    argv.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda x: env.get(x.group(1), ""), tok))
            out.append(argv)
        return out

    def setpriv(self):
        """setpriv arguments for User=/Group=, CapabilityBoundingSet= and
        NoNewPrivileges= (setpriv from util-linux), or [] when none is set."""
        args = []
        user, group = self.last("User"), self.last("Group")
        if user:
            args += ["--reuid=" + user, "--regid=" + (group or user), "--init-groups"]
        caps = self.sections.get("Service", {}).get("CapabilityBoundingSet")
        if caps is not None:
            names = " ".join(caps).split()
            args.append("--bounding-set=" + ",".join(["-all"] + ["+" + c.lower()[4:] for c in names]))
        if self.last("NoNewPrivileges", "no") in ("yes", "true", "1", "on"):
            args.append("--no-new-privs")
        return ["setpriv"] + args if args else []

    def umask(self):
        return int(self.last("UMask", "0022"), 8)

    def runtime_dirs(self):
        """[(path, mode)] of RuntimeDirectory= under /run."""
        mode = int(self.last("RuntimeDirectoryMode", "0755"), 8)
        return [("/run/" + self.specifiers(d), mode) for v in self.values("RuntimeDirectory") for d in v.split()]
