/* log.c - see log.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static enum log_level current = LOG_LVL_WARNING;
static const char *const names[] = { "error", "warning", "info", "debug" };

void log_set_level(enum log_level l) { current = l; }
enum log_level log_get_level(void) { return current; }

int log_parse_level(const char *s, enum log_level *out)
{
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

void lw_log(enum log_level l, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n;

    if (l > current)
        return;
    n = snprintf(line, sizeof line, "linkwatch: %s: ", names[l]);
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    /* One write per line so lines from several threads never interleave. */
    if (write(STDERR_FILENO, line, (size_t)n) < 0)
        return;
}
