"""eveschema.py - Suricata's EVE schema for the integration tests.

  load()               (Schema, None), or (None, why) when python3-jsonschema
                       or the schema file is missing (tests then SKIP those
                       checks); the file is $LW_EVE_SCHEMA, else
                       ../shared/suricata/eve-schema.json beside the source tree
  Schema.conflicts(e)  [(path, message)]: where event e contradicts the
                       schema. additionalProperties errors are ignored: our
                       own blocks (geo, ndpi, sensor_id, ...) are allowed,
                       a field Suricata types otherwise, or a required one
                       missing, is not.
"""

import json
import os

import lwtest


def schema_path():
    return os.environ.get("LW_EVE_SCHEMA") or os.path.join(lwtest.srcdir(), "..", "shared", "suricata",
                                                           "eve-schema.json")


class Schema:
    def __init__(self, validator):
        self.validator = validator

    def conflicts(self, event):
        out = []
        for err in self.validator.iter_errors(event):
            if err.validator == "additionalProperties":
                continue
            out.append(("/".join(str(p) for p in err.absolute_path) or "(top)", err.message[:200]))
        return out


def load():
    try:
        import jsonschema
    except ImportError:
        return None, "python3-jsonschema is not installed"
    path = schema_path()
    if not os.path.exists(path):
        return None, "%s not found" % path
    with open(path) as f:
        schema = json.load(f)
    return Schema(jsonschema.validators.validator_for(schema)(schema)), None
