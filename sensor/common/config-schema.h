/* config-schema.h - how a module describes its keys of linkwatch.yaml.
 *
 * config.c checks and fills the sensor's own keys (its schema[] table) and,
 * the same way, every section a module describes next to its code: an
 * exporter's keys (outputs.syslog: facility, port, ...), their kinds and
 * ranges, and where each lands in the module's own struct. A section's
 * defaults are in the compiled-in linkwatch.yaml like every other key's, so
 * it must hold each key of each section. Which sections are loaded is the
 * caller's business (config_load_with()); config_load() loads the exporter
 * registry's (exporters.h): adding an exporter adds its section there, and
 * config.c stays as it is.
 */
#ifndef LW_CONFIG_SCHEMA_H
#define LW_CONFIG_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

enum cfg_type {
    CFG_MAP,        /* a mapping of known keys */
    CFG_VARMAP,     /* NAME -> text or list of texts (top-level schema only) */
    CFG_BOOL, CFG_UINT, CFG_SIZE, CFG_DURATION,
    CFG_STRING,     /* any text; empty allowed */
    CFG_NONEMPTY,   /* a non-empty text */
    CFG_IDENT,      /* 1-64 of [A-Za-z0-9._-] */
    CFG_SENSORID,   /* a CFG_IDENT other than "all" (the merged Redis view) */
    CFG_ENUM, CFG_COUNTRY, CFG_HOSTPORT,
    CFG_CIDRLIST, CFG_STRLIST, CFG_ENUMLIST,
    CFG_PORTLIST,   /* a list of port numbers 1-65535 (kept as texts) */
};

/* One key. Numbers land in a uint32_t or uint64_t (width), booleans in an
 * int, texts as a char * the configuration owns, lists as a struct
 * cfg_strlist (config.h). */
struct cfg_key {
    const char        *path;     /* within its section: "facility", "timeouts.connect" */
    enum cfg_type      type;
    size_t             off, width;  /* the field in the section's struct */
    size_t             off2;     /* CFG_VARMAP: the values list */
    uint64_t           min, max;
    const char *const *choices;  /* NULL-terminated, CFG_ENUM / CFG_ENUMLIST */
};

/* The keys under one mapping of linkwatch.yaml. With size > 0,
 * config_load() allocates a zeroed struct of that size for them, found
 * afterwards with config_section(); with size 0 the offsets are into
 * struct lw_config itself (a section shared by several modules). */
struct cfg_section {
    const char           *path;  /* "outputs.syslog" */
    const struct cfg_key *keys;
    size_t                nkeys;
    size_t                size;
};

#define CFG_FIELD(S, m)                    offsetof(S, m), sizeof(((S *)0)->m)
#define CFG_KMAP(p)                        { p, CFG_MAP, 0, 0, 0, 0, 0, NULL }
#define CFG_KNUM(p, t, S, m, lo, hi)       { p, t, CFG_FIELD(S, m), 0, lo, hi, NULL }
#define CFG_KSET(p, t, S, m, ch)           { p, t, CFG_FIELD(S, m), 0, 0, 0, ch }
#define CFG_KTXT(p, t, S, m)               { p, t, CFG_FIELD(S, m), 0, 0, 0, NULL }
/* A section of struct S described by the array keys. */
#define CFG_SECTION(p, S, keys)            { p, keys, sizeof keys / sizeof keys[0], sizeof(S) }
/* A section whose keys land in struct lw_config. */
#define CFG_SECTION_SHARED(p, keys)        { p, keys, sizeof keys / sizeof keys[0], 0 }

#define CFG_KB      1024ULL
#define CFG_MB      (1024ULL * CFG_KB)
#define CFG_GB      (1024ULL * CFG_MB)
#define CFG_DAY     86400ULL

#endif
