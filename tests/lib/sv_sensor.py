#!/usr/bin/env python3
"""sv_sensor.py - runs linkwatch the way suricata-verify's sv_run.py runs a
sensor: on one test's capture and rules, with the test's rule variables
and suricata-verify's classification.config.

    sv_sensor.py LINKWATCH CONFIG VARS CLASSIFICATION PCAP RULES OUTDIR

VARS is sv_run.py's {vars} file (NAME=VALUE per line); each becomes
vars.address-groups.NAME or vars.port-groups.NAME (names ending in _PORTS
or _PORT, and DNP3/MODBUS/FILE_DATA port groups, are ports). The exit
status is linkwatch's."""

import json
import os
import subprocess
import sys


def is_port_group(name, value):
    return name.endswith("_PORTS") or name.endswith("_PORT") or value.strip("[]!").split(",")[0].isdigit()


def main():
    if len(sys.argv) != 8:
        sys.stderr.write(__doc__)
        return 2
    lw, config, vars_path, classification, pcap, rules, outdir = sys.argv[1:]
    args = [lw, "-c", config, "-r", pcap, "-S", rules, "-l", outdir,
            "--set", "logging.level=error", "--set", "rules.classification-file=" + classification]
    if os.path.isfile(vars_path):
        with open(vars_path, encoding="utf-8") as fh:
            for line in fh:
                name, _, value = line.strip().partition("=")
                if not name or not value:
                    continue
                group = "port-groups" if is_port_group(name, value) else "address-groups"
                args += ["--set", "vars.%s.%s=%s" % (group, name, json.dumps(value))]
    return subprocess.run(args).returncode


if __name__ == "__main__":
    sys.exit(main())
