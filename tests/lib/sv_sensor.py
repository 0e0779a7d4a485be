#!/usr/bin/env python3
"""sv_sensor.py - runs linkwatch the way suricata-verify's sv_run.py runs a
sensor: on one test's capture and rules, with the test's rule variables
and suricata-verify's classification.config.

    sv_sensor.py LINKWATCH CONFIG VARS CLASSIFICATION PCAP RULES OUTDIR [SURICATA_YAML]

VARS is sv_run.py's {vars} file (NAME=VALUE per line); each becomes
vars.address-groups.NAME or vars.port-groups.NAME (names ending in _PORTS
or _PORT, and DNP3/MODBUS/FILE_DATA port groups, are ports).
SURICATA_YAML is sv_run.py's {config}, the test's own suricata.yaml ("" when
it has none): the settings of it linkwatch has are carried over, today the
eve-log alert type's xff block (outputs.xff). The exit status is
linkwatch's."""

import json
import os
import subprocess
import sys

import yaml


def is_port_group(name, value):
    return name.endswith("_PORTS") or name.endswith("_PORT") or value.strip("[]!").split(",")[0].isdigit()


def suricata_sets(path):
    """--set values for the suricata.yaml settings linkwatch shares."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh.read().replace("%YAML 1.1", "", 1)) or {}
    except (OSError, yaml.YAMLError):
        return []
    sets = []
    for out in doc.get("outputs") or []:
        eve = out.get("eve-log") if isinstance(out, dict) else None
        for t in (eve or {}).get("types") or []:
            xff = t.get("alert", {}).get("xff") if isinstance(t, dict) and isinstance(t.get("alert"), dict) else None
            if not isinstance(xff, dict):
                continue
            yes = xff.get("enabled") in (True, "yes", "true", "on")
            sets.append("outputs.xff.enabled=%s" % ("yes" if yes else "no"))
            for key in ("mode", "deployment", "header"):
                if xff.get(key):
                    sets.append("outputs.xff.%s=%s" % (key, xff[key]))
    return sets


def main():
    if len(sys.argv) not in (8, 9):
        sys.stderr.write(__doc__)
        return 2
    lw, config, vars_path, classification, pcap, rules, outdir = sys.argv[1:8]
    suricata_yaml = sys.argv[8] if len(sys.argv) == 9 else ""
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
    if suricata_yaml and os.path.isfile(suricata_yaml):
        for kv in suricata_sets(suricata_yaml):
            args += ["--set", kv]
    return subprocess.run(args).returncode


if __name__ == "__main__":
    sys.exit(main())
