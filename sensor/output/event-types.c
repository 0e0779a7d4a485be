/* event-types.c - the EVE event type names; see event-types.h. */
#include <stddef.h>
#include <string.h>

#include "event-types.h"

const char *const event_type_names[EVT_MAX + 1] = {
#define EVT_NAME(id, name) [EVT_##id] = name,
    EVENT_TYPES(EVT_NAME)
#undef EVT_NAME
    [EVT_MAX] = NULL,
};

int event_type_parse(const char *name)
{
    for (int i = 0; i < EVT_MAX; i++)
        if (strcmp(name, event_type_names[i]) == 0)
            return i;
    return -1;
}

const char *event_type_name(enum event_type t)
{
    return (unsigned)t < EVT_MAX ? event_type_names[t] : "unknown";
}

uint32_t event_type_mask(char *const *names, size_t n)
{
    uint32_t m = 0;

    for (size_t i = 0; i < n; i++) {
        int t = event_type_parse(names[i]);

        if (t >= 0)
            m |= 1u << t;
    }
    return m;
}
