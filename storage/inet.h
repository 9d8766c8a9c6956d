/*
 * inet.h - source addresses between the text the parser produces and
 * MariaDB's INET6 columns.
 *
 * INET6 rejects a bare IPv4 string, so IPv4 is stored IPv4-mapped
 * (::ffff:192.0.2.1). The mapped range is one contiguous block of INET6's
 * ordering, so an IPv4 CIDR is still one index range. On the way out a
 * mapped address becomes plain IPv4 again, the form the parser and the API
 * use (parser/ipaddr.h). Decided once, here: no other file converts.
 */
#ifndef DMARCD_STORAGE_INET_H
#define DMARCD_STORAGE_INET_H

#include <stdbool.h>

/* "::ffff:255.255.255.255" and any IPv6 text fit. */
#define STORE_INET6_TEXT_MAX 48

/* IPv4 or IPv6 text to the value bound to an INET6 column. False (out "")
 * when ip is not an address. */
bool store_inet6_from_ip(const char *ip, char out[STORE_INET6_TEXT_MAX]);

/* An INET6 column's text back to canonical IPv4 or IPv6 text. */
bool store_inet6_to_ip(const char *db, char out[STORE_INET6_TEXT_MAX]);

#endif
