/*
 * inet.c - IPv4 <-> IPv4-mapped IPv6 for INET6 columns (see inet.h).
 *
 * inet_pton/inet_ntop both ways, so what is stored and what is shown are
 * canonical whatever spelling came in.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "storage/inet.h"
#include "lib/banned.h"

bool store_inet6_from_ip(const char *ip, char out[STORE_INET6_TEXT_MAX])
{
    unsigned char a4[4];
    struct in6_addr a6;
    out[0] = '\0';
    if (!ip)
        return false;
    if (inet_pton(AF_INET, ip, a4) == 1) {
        snprintf(out, STORE_INET6_TEXT_MAX, "::ffff:%u.%u.%u.%u", a4[0], a4[1], a4[2], a4[3]);
        return true;
    }
    if (inet_pton(AF_INET6, ip, &a6) == 1 &&
        inet_ntop(AF_INET6, &a6, out, STORE_INET6_TEXT_MAX))
        return true;
    out[0] = '\0';
    return false;
}

bool store_inet6_to_ip(const char *db, char out[STORE_INET6_TEXT_MAX])
{
    struct in6_addr a6;
    out[0] = '\0';
    if (!db || inet_pton(AF_INET6, db, &a6) != 1)
        return false;
    if (IN6_IS_ADDR_V4MAPPED(&a6))
        return inet_ntop(AF_INET, &a6.s6_addr[12], out, STORE_INET6_TEXT_MAX) != NULL;
    return inet_ntop(AF_INET6, &a6, out, STORE_INET6_TEXT_MAX) != NULL;
}
