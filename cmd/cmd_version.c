/*
 * cmd_version.c - `dmarcd version`: the version, how it was built, and the
 * version of every library as reported at run time (which can differ from
 * the headers it was compiled against after a distribution upgrade).
 */
#include <archive.h>
#include <curl/curl.h>
#include <gmime/gmime.h>
#include <gpgme.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <microhttpd.h>
#include <mysql.h>
#include <sodium.h>
#include <stdio.h>
#include <zlib.h>

#include "build_info.h"
#include "cmd.h"
#include "lib/banned.h"

/* libxml2 reports its version as a decimal string such as "20914". */
static int version_number(const char *digits)
{
    int v = 0;
    for (; *digits >= '0' && *digits <= '9' && v < 10000000; digits++)
        v = v * 10 + (*digits - '0');
    return v;
}

static void print_libraries(void)
{
    printf("libraries:\n");
    int xml = version_number(xmlParserVersion);
    printf("  libxml2           %d.%d.%d\n", xml / 10000, xml / 100 % 100, xml % 100);
    printf("  zlib              %s\n", zlibVersion());
    printf("  libarchive        %s\n", archive_version_details());
    printf("  mariadb-connector %s\n", mysql_get_client_info());
    printf("  hiredis           %d.%d.%d\n", HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH);
    printf("  gpgme             %s\n", gpgme_check_version(NULL));
    printf("  libmicrohttpd     %s\n", MHD_get_version());
    printf("  jansson           %s\n", jansson_version_str());
    printf("  gmime             %u.%u.%u\n", gmime_major_version, gmime_minor_version,
           gmime_micro_version);
    printf("  libsodium         %s\n", sodium_version_string());
    printf("  libcurl           %s\n", curl_version());
}

int cmd_version(struct cmd_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argv;
    if (argc > 1) {
        cmd_print_usage(&cmd_version_def, stderr);
        return EXIT_USAGE;
    }
    printf("dmarcd %s (%s)\n", DMARCD_VERSION, DMARCD_GIT_DESCRIBE);
    printf("build: %s, %s, sanitizers %s, fuzzing %s, -Werror %s\n", DMARCD_BUILD_TYPE,
           DMARCD_COMPILER, DMARCD_SANITIZE_ON ? "on" : "off", DMARCD_FUZZ_ON ? "on" : "off",
           DMARCD_WERROR_ON ? "on" : "off");
    print_libraries();
    return EXIT_OK;
}

const struct command cmd_version_def = {
    .name = "version",
    .summary = "print the version, build options and library versions",
    .usage = "usage: dmarcd version\n"
             "\n"
             "Prints the dmarcd version, how it was built (build type, compiler,\n"
             "sanitizers) and the run-time version of every library it uses.\n",
    .run = cmd_version,
};
