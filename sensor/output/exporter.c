/* exporter.c - what exporters share; see exporter.h. */
#include "exporter.h"

int exporter_switch_enabled(const struct exporter_params *p, uint32_t *types)
{
    const struct exporter_switch *sw = p->section;

    *types = event_type_mask(sw->types.v, sw->types.n);
    return sw->enabled;
}
