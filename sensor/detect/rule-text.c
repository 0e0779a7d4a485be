/* rule-text.c - text helpers of the rule language files (rule-text.h). */
#include <stdlib.h>
#include <string.h>

#include "rule-text.h"

char *rule_trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        *--e = '\0';
    return s;
}

int rule_grow(void **v, uint32_t *cap, uint32_t n, size_t size)
{
    uint32_t c = *cap ? *cap * 2 : 4;
    void *p;

    if (n < *cap)
        return 0;
    if ((p = realloc(*v, c * size)) == NULL)
        return -1;
    *v = p;
    *cap = c;
    return 0;
}
