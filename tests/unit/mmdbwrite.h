/* mmdbwrite.h - a small MaxMind DB (MMDB 2.0) writer, so tests build their
 * own databases with known networks instead of depending on downloaded ones.
 *
 * It writes an IPv6 tree (32-bit records) with IPv4 networks under ::/96, as
 * MaxMind's own databases are laid out, which libmaxminddb reads for both
 * families. Records are maps built from "key.path=value" fields:
 *
 *   mmdbw_insert(w, "81.2.69.0/24", "country.iso_code=GB city.names.en=London "
 *                "location.latitude=51.5142 location.longitude=-0.0931");
 *   mmdbw_insert(w, "2001:db8::/32", "autonomous_system_number=64500 "
 *                "autonomous_system_organization=\"Example Net\"");
 *
 * A value of digits only is a uint32, one with a '.' (and otherwise a
 * number) a double, anything else a UTF-8 string; "s:..." forces a string
 * and a double-quoted value may hold spaces. Insert wider networks before
 * the narrower ones inside them: an insert replaces whatever the tree held
 * for its whole network.
 */
#ifndef LW_TEST_MMDBWRITE_H
#define LW_TEST_MMDBWRITE_H

struct mmdbw;

struct mmdbw *mmdbw_new(const char *database_type);
/* Returns 0, or -1 for a bad CIDR or field list. */
int mmdbw_insert(struct mmdbw *w, const char *cidr, const char *fields);
/* Writes the database file. Returns 0 or -1 (errno set). */
int mmdbw_write(struct mmdbw *w, const char *path);
void mmdbw_free(struct mmdbw *w);

#endif
