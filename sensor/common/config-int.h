/* config-int.h - what config.c takes from config-value.c: the checks of
 * one scalar value of linkwatch.yaml. Each returns 0 (parsers) or 1
 * (validators) when s is well formed; no side effects but *out. */
#ifndef LW_CONFIG_INT_H
#define LW_CONFIG_INT_H

#include <stdint.h>

/* A plain decimal number, no unit. */
int cfgv_parse_uint(const char *s, uint64_t *out);
/* yes/true/on/1 or no/false/off/0, any case. */
int cfgv_parse_bool(const char *s, int *out);
/* Sensor ids and other names that end up in Redis keys: 1-64 of
 * letters, digits, '.', '-', '_'. */
int cfgv_valid_ident(const char *s);
/* A variable name (address-groups, port-groups): letters, digits, '_'. */
int cfgv_valid_varname(const char *s);
/* Two upper-case letters. */
int cfgv_valid_country(const char *s);
/* 1..65535. */
int cfgv_valid_port(const char *s);
/* "host:port" or "[v6addr]:port". */
int cfgv_valid_hostport(const char *s);

#endif
