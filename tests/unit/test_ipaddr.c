/*
 * Unit tests for parser/ipaddr: canonical text for report addresses. The
 * formatter is our own (glibc's inet_ntop goes through sprintf), so besides
 * the hand-picked cases a randomised check compares it with inet_ntop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "parser/ipaddr.h"
#include "lib/banned.h"

static void check(const char *in, const char *want)
{
    char out[REPORT_IP_TEXT_MAX];
    bool ok = ipaddr_canonical(slice_from_cstr(in), out);
    if (!want) {
        if (ok)
            fail_msg("\"%s\" accepted as \"%s\"", in, out);
        assert_string_equal(out, "");
        return;
    }
    if (!ok)
        fail_msg("\"%s\" refused, want \"%s\"", in, want);
    assert_string_equal(out, want);
}

static void test_ipv4(void **state)
{
    (void)state;
    check("192.0.2.1", "192.0.2.1");
    check("0.0.0.0", "0.0.0.0");
    check("255.255.255.255", "255.255.255.255");
    check("  198.51.100.7\t\n", "198.51.100.7");
    check("[203.0.113.9]", "203.0.113.9");
    check("", NULL);
    check("   ", NULL);
    check("[]", NULL);
    check("256.1.1.1", NULL);
    check("1.2.3", NULL);
    check("1.2.3.4.5", NULL);
    check("1.2.3.", NULL);
    check(".1.2.3", NULL);
    check("01.2.3.4", NULL);           /* leading zeros are refused, as inet_pton does */
    check("1.2.3.4 (mx.example)", NULL);
    check("1.2.3.1000", NULL);
    check("not-an-ip", NULL);
}

static void test_ipv6(void **state)
{
    (void)state;
    check("2001:db8::1", "2001:db8::1");
    check("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1");
    check("0000:0000:0000:0000:0000:FFFF:7F00:0002", "127.0.0.2");   /* mapped: IPv4 */
    check("::ffff:192.0.2.1", "192.0.2.1");
    check("[2001:db8::a]", "2001:db8::a");
    check("::", "::");
    check("::1", "::1");
    check("1::", "1::");
    check("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1");   /* first longest run */
    check("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"); /* one zero stays */
    check("2001:db8:1:0:0:2:0:0", "2001:db8:1::2:0:0");
    check("::1.2.3.4", "::1.2.3.4");                      /* IPv4-compatible, as glibc */
    check("fe80::1%eth0", NULL);
    check("2001:db8::g", NULL);
    check("1:2:3:4:5:6:7:8:9", NULL);
    check("0000:0000:0000:0000:0000:0000:0000:0000:0000", NULL);     /* too long */
}

/* Our formatter against glibc's inet_ntop on many addresses. */
static void test_matches_inet_ntop(void **state)
{
    (void)state;
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (int n = 0; n < 200000; n++) {
        unsigned char a[16];
        for (int i = 0; i < 16; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            /* mostly zero bytes, so that zero runs of every length occur */
            a[i] = (x % 3) ? 0 : (unsigned char)(x >> 24);
        }
        if (n % 7 == 0)
            memcpy(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
        char ref[INET6_ADDRSTRLEN], out[REPORT_IP_TEXT_MAX];
        assert_non_null(inet_ntop(AF_INET6, a, ref, sizeof(ref)));
        assert_true(ipaddr_canonical(slice_from_cstr(ref), out));
        if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
            char v4[INET_ADDRSTRLEN];
            assert_non_null(inet_ntop(AF_INET, a + 12, v4, sizeof(v4)));
            assert_string_equal(out, v4);
        } else {
            assert_string_equal(out, ref);
        }
        assert_non_null(inet_ntop(AF_INET, a + 12, ref, sizeof(ref)));
        assert_true(ipaddr_canonical(slice_from_cstr(ref), out));
        assert_string_equal(out, ref);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_matches_inet_ntop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
