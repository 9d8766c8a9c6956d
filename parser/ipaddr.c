/*
 * ipaddr.c - address canonicalisation. Parsing is left to the libc's
 * inet_pton (no hand-written grammar to get wrong); the text is written
 * here rather than by inet_ntop because glibc's inet_ntop formats with
 * sprintf, which showed up in profiles of 300k-record reports. The output
 * follows glibc's inet_ntop rules exactly (RFC 5952 zero compression,
 * first longest run; "::a.b.c.d" for IPv4-compatible addresses), which
 * test_ipaddr checks against inet_ntop itself. An address that is already
 * in canonical dotted-quad form (the common case) is copied as is.
 */
#include "ipaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "lib/banned.h"

/* True when s is a.b.c.d with decimal parts 0..255 without leading zeros:
 * exactly the strings inet_ntop would produce for IPv4. */
static bool is_canonical_ipv4(struct slice s)
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        unsigned value = 0;
        size_t start = i;
        if (part > 0) {
            if (i >= s.len || s.ptr[i] != '.')
                return false;
            start = ++i;
        }
        while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9' && i - start < 3)
            value = value * 10 + (unsigned)(s.ptr[i++] - '0');
        if (i == start || value > 255 || (s.ptr[start] == '0' && i - start > 1))
            return false;
    }
    return i == s.len;
}

static char *put_decimal(char *o, unsigned v)
{
    if (v >= 100)
        *o++ = (char)('0' + v / 100);
    if (v >= 10)
        *o++ = (char)('0' + v / 10 % 10);
    *o++ = (char)('0' + v % 10);
    return o;
}

static char *put_ipv4(char *o, const unsigned char b[4])
{
    for (int i = 0; i < 4; i++) {
        if (i)
            *o++ = '.';
        o = put_decimal(o, b[i]);
    }
    *o = '\0';
    return o;
}

static char *put_hex16(char *o, unsigned w)
{
    static const char hex[] = "0123456789abcdef";
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
        unsigned nibble = (w >> shift) & 0xf;
        if (nibble || started || shift == 0) {
            *o++ = hex[nibble];
            started = true;
        }
    }
    return o;
}

/* glibc inet_ntop6, without sprintf. */
static void put_ipv6(char *o, const unsigned char a[16])
{
    unsigned w[8];
    int best = -1, best_len = 0, cur = -1, cur_len = 0;

    for (int i = 0; i < 8; i++) {
        w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
        if (w[i] != 0) {
            cur = -1;
            continue;
        }
        if (cur < 0) {
            cur = i;
            cur_len = 0;
        }
        if (++cur_len > best_len) {
            best = cur;
            best_len = cur_len;
        }
    }
    if (best_len < 2)
        best = -1;
    for (int i = 0; i < 8; i++) {
        if (best >= 0 && i >= best && i < best + best_len) {
            if (i == best)
                *o++ = ':';
            continue;
        }
        if (i)
            *o++ = ':';
        if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff))) {
            put_ipv4(o, a + 12);
            return;
        }
        o = put_hex16(o, w[i]);
    }
    if (best >= 0 && best + best_len == 8)
        *o++ = ':';
    *o = '\0';
}

bool ipaddr_canonical(struct slice in, char out[REPORT_IP_TEXT_MAX])
{
    char text[REPORT_IP_TEXT_MAX + 8];
    struct in6_addr v6;
    struct in_addr v4;

    out[0] = '\0';
    in = slice_trim(in);
    if (in.len && in.ptr[0] == '[' && in.ptr[in.len - 1] == ']')
        in = slice_make(in.ptr + 1, in.len - 2);
    if (in.len == 0 || in.len >= sizeof(text))
        return false;
    if (in.len < REPORT_IP_TEXT_MAX && is_canonical_ipv4(in)) {
        memcpy(out, in.ptr, in.len);
        out[in.len] = '\0';
        return true;
    }
    memcpy(text, in.ptr, in.len);
    text[in.len] = '\0';

    if (inet_pton(AF_INET, text, &v4) == 1) {
        put_ipv4(out, (const unsigned char *)&v4);
        return true;
    }
    if (inet_pton(AF_INET6, text, &v6) != 1)
        return false;
    if (IN6_IS_ADDR_V4MAPPED(&v6))
        put_ipv4(out, &v6.s6_addr[12]);
    else
        put_ipv6(out, v6.s6_addr);
    return true;
}
