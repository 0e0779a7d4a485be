/* exporters.c - the exporter registry; see exporters.h. */
#include "exporters.h"

const struct exporter_def *const exporter_registry[] = {
    EXPORTERS(EXPORTER_ENTRY)
    NULL,
};

const struct cfg_section *const config_sections[] = {
    EXPORTERS(EXPORTER_SECTION)
    NULL,
};

int exporter_switch_enabled(const struct exporter_params *p, uint32_t *types)
{
    const struct exporter_switch *sw = p->section;

    *types = event_type_mask(sw->types.v, sw->types.n);
    return sw->enabled;
}
