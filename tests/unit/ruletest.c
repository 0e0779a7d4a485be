/* ruletest.c - see ruletest.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>

#include "ruletest.h"
#include "rule-parse.h"

struct detect_engine *ruletest_engine(const char *const *texts)
{
    struct rule_parse_env env = { NULL, NULL };
    struct rule_list *l = calloc(1, sizeof *l);
    struct detect_engine *e;
    char err[256];
    size_t n = 0;

    assert_non_null(l);
    while (texts[n])
        n++;
    l->v = calloc(n ? n : 1, sizeof *l->v);
    assert_non_null(l->v);
    for (size_t i = 0; i < n; i++) {
        struct rule_error rerr;

        if (rule_parse(texts[i], &env, &l->v[l->n], &rerr) < 0)
            fail_msg("rule %s: %s", texts[i], rerr.msg);
        l->n++;
    }
    e = detect_compile(l, err, sizeof err);
    if (e == NULL)
        fail_msg("detect_compile: %s", err);
    return e;
}
