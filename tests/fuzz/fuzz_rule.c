/* fuzz_rule.c - libFuzzer target: rule text through rule_parse() with the
 * shipped configuration's variables ($HOME_NET, $HTTP_PORTS, ...), and the
 * address and port expressions on their own. Input: the rule text. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "rule-load.h"
#include "rule-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct lw_config cfg;
    static int loaded;
    struct rule_parse_env env;
    struct rule_error err;
    struct rule *r = NULL;
    struct rule_addrset as;
    struct rule_portset ps;
    char *text;

    if (!loaded) {
        char e[512];

        if (config_load(&cfg, NULL, NULL, 0, e, sizeof e) < 0)
            abort();
        loaded = 1;
    }
    if (size > RULE_MAX_TEXT)
        return 0;
    text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    env.cfg = &cfg;
    env.classes = NULL;
    if (rule_parse(text, &env, &r, &err) == 0)
        rule_free(r);
    memset(&as, 0, sizeof as);
    if (rule_addrset_parse(&as, text, &cfg, &err) == 0)
        rule_addrset_free(&as);
    memset(&ps, 0, sizeof ps);
    if (rule_portset_parse(&ps, text, &cfg, &err) == 0)
        rule_portset_free(&ps);
    free(text);
    return 0;
}
