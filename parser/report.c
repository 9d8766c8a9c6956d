/*
 * report.c - names of the report enumerations, shared by every sink.
 */
#include "report.h"

#include "lib/banned.h"

const char *report_kind_name(enum report_kind kind)
{
    switch (kind) {
    case REPORT_KIND_AGGREGATE:
        return "aggregate";
    case REPORT_KIND_FAILURE:
        return "failure";
    case REPORT_KIND_TLSRPT:
        return "tlsrpt";
    }
    return "unknown";
}

const char *agg_format_name(enum agg_format format)
{
    switch (format) {
    case AGG_FORMAT_RFC7489:
        return "rfc7489";
    case AGG_FORMAT_RFC9990:
        return "rfc9990";
    case AGG_FORMAT_DRAFT:
        return "draft";
    }
    return "unknown";
}
