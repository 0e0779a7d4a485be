/* mkmmdb.c - builds a MaxMind DB file from a text spec, for tests.
 *
 *   mkmmdb OUT.mmdb DATABASE_TYPE < SPEC
 *
 * SPEC has one network per line, "CIDR key.path=value ...", in the field
 * syntax of tests/unit/mmdbwrite.h; blank lines and lines starting with '#'
 * are skipped. Wider networks must come before narrower ones inside them.
 */
#include <stdio.h>
#include <string.h>

#include "mmdbwrite.h"

int main(int argc, char **argv)
{
    char line[4096];
    struct mmdbw *w;
    int n = 0, rc = 0;

    if (argc != 3) {
        fprintf(stderr, "usage: mkmmdb OUT.mmdb DATABASE_TYPE < SPEC\n");
        return 2;
    }
    w = mmdbw_new(argv[2]);
    if (w == NULL) {
        fprintf(stderr, "mkmmdb: out of memory\n");
        return 1;
    }
    while (fgets(line, sizeof line, stdin)) {
        char *p = line, *sp;

        n++;
        line[strcspn(line, "\r\n")] = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        sp = p + strcspn(p, " \t");
        if (*sp)
            *sp++ = '\0';
        if (mmdbw_insert(w, p, sp) < 0) {
            fprintf(stderr, "mkmmdb: line %d: bad network or fields: %s %s\n", n, p, sp);
            rc = 1;
        }
    }
    if (rc == 0 && mmdbw_write(w, argv[1]) < 0) {
        perror(argv[1]);
        rc = 1;
    }
    mmdbw_free(w);
    return rc;
}
