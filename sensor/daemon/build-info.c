/* build-info.c - `linkwatch --build-info`; see build-info.h. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <hiredis/hiredis.h>
#include <hs/hs.h>
#include <htp/htp.h>
#include <htp/htp_version.h>
#include <maxminddb.h>
#include <microhttpd.h>
#include <ndpi/ndpi_api.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <pcap/pcap.h>
#include <pcre2.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "autoconf.h"
#include "build-info.h"

#define STR_(x) #x
#define STR(x) STR_(x)

static void line(FILE *out, const char *lib, const char *runtime, const char *built)
{
    fprintf(out, "  %-14s %s", lib, runtime);
    if (built && built[0])
        fprintf(out, " (built against %s)", built);
    fputc('\n', out);
}

void build_info_print(FILE *out)
{
    char pcre[64] = "", mhd[32];
    uint32_t jit = 0;
    unsigned v = MHD_VERSION;

    fprintf(out, "linkwatch %s\n", PACKAGE_VERSION);
#if defined(__clang__)
    fprintf(out, "compiler: clang %s\n", __clang_version__);
#elif defined(__GNUC__)
    fprintf(out, "compiler: gcc %s\n", __VERSION__);
#endif
    fputs(lw_build_flags, out);
    fprintf(out, "configuration folder: %s (rules in %s/rules)\n", LW_SYSCONFDIR, LW_SYSCONFDIR);
    fprintf(out, "data folder: %s\n", LW_DATADIR);
    fprintf(out, "libraries:\n");
    line(out, "libpcap", pcap_lib_version(), NULL);
    line(out, "nDPI", ndpi_revision(), "API " STR(NDPI_API_VERSION));
    line(out, "Hyperscan", hs_version(), NULL);
    pcre2_config(PCRE2_CONFIG_VERSION, pcre);
    pcre2_config(PCRE2_CONFIG_JIT, &jit);
    snprintf(pcre + strlen(pcre), sizeof pcre - strlen(pcre), ", JIT %s", jit ? "yes" : "no");
    line(out, "PCRE2", pcre, STR(PCRE2_MAJOR) "." STR(PCRE2_MINOR));
    line(out, "hiredis", STR(HIREDIS_MAJOR) "." STR(HIREDIS_MINOR) "." STR(HIREDIS_PATCH) " (headers; the library does not say)",
         NULL);
    line(out, "libmaxminddb", MMDB_lib_version(), NULL);
    line(out, "libhtp", htp_get_version(), HTP_VERSION_STRING_FULL);
    line(out, "libcrypto", OpenSSL_version(OPENSSL_VERSION), OPENSSL_VERSION_TEXT);
    line(out, "libyaml", yaml_get_version_string(), NULL);
    snprintf(mhd, sizeof mhd, "%x.%x.%x", v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff);
    line(out, "libmicrohttpd", MHD_get_version(), mhd);
}
