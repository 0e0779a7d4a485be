/* exporters.c - the exporter registry; see exporters.h. */
#include "exporters.h"

const struct exporter_def *const exporter_registry[] = {
    EXPORTERS(EXPORTER_ENTRY)
    NULL,
};

static const struct cfg_section *const exporter_sections[] = {
    EXPORTERS(EXPORTER_SECTION)
    NULL,
};

int config_load(struct lw_config *cfg, const char *path,
                char *const *sets, size_t nsets, char *err, size_t errlen)
{
    return config_load_with(cfg, exporter_sections, path, sets, nsets, err, errlen);
}
