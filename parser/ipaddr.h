/*
 * ipaddr.h - canonical text for IP addresses found in reports.
 *
 * Reporters write addresses every way: compressed and fully expanded IPv6,
 * upper case, IPv4-mapped IPv6, stray whitespace, "1.2.3.4 (rdns)" in
 * ARF. ipaddr_canonical() accepts one address (after trimming) and writes
 * the inet_ntop form; IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes a.b.c.d so
 * one sender has one key.
 */
#ifndef DMARCD_PARSER_IPADDR_H
#define DMARCD_PARSER_IPADDR_H

#include <stdbool.h>

#include "lib/slice.h"
#include "parser/report.h"

/* False (out set to "") when in is not an IPv4 or IPv6 address. */
bool ipaddr_canonical(struct slice in, char out[REPORT_IP_TEXT_MAX]);

#endif
