/*
 * test_imap_proto.c - the IMAP pieces of ingest/imap_proto.h that need no
 * server: the response reader (literals, pieces of any size, limits),
 * taking responses apart (status codes, SEARCH, CAPABILITY,
 * PERMANENTFLAGS, FETCH), mailbox names in modified UTF-7, UID sets and
 * the mailbox URL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/imap_proto.h"
#include "lib/banned.h"

/* ---- a reader that records what it was handed ---- */

struct seen {
    struct strbuf log;          /* "R:<text>\n" per response, "L<n>:<text>\n" per literal start */
    struct strbuf body;         /* literals kept */
    size_t keep_cap;            /* cap of body; 0: literals are skipped */
    unsigned responses;
    enum dmarcd_err fail_with;  /* returned by the response callback */
};

static struct strbuf *seen_literal(void *ctx, struct slice text, uint64_t len)
{
    struct seen *s = ctx;
    (void)strbuf_addf(&s->log, "L%llu:%.*s\n", (unsigned long long)len, (int)text.len, text.ptr);
    return s->keep_cap ? &s->body : NULL;
}

static enum dmarcd_err seen_response(void *ctx, struct slice text)
{
    struct seen *s = ctx;
    (void)strbuf_addf(&s->log, "R:%.*s\n", (int)text.len, text.ptr);
    s->responses++;
    return s->fail_with;
}

static const struct imap_reader_ops seen_ops = { .literal = seen_literal,
                                                 .response = seen_response };

static void seen_init(struct seen *s, size_t keep_cap)
{
    memset(s, 0, sizeof(*s));
    strbuf_init(&s->log, 0);
    s->keep_cap = keep_cap;
    strbuf_init(&s->body, keep_cap ? keep_cap : 0);
}

static void seen_release(struct seen *s)
{
    strbuf_release(&s->log);
    strbuf_release(&s->body);
}

/* Feeds text in pieces of step bytes (0: all at once); returns the first error. */
static enum dmarcd_err feed(struct imap_reader *r, const char *text, size_t len, size_t step)
{
    size_t off = 0;
    if (!step)
        step = len ? len : 1;
    while (off < len) {
        size_t n = len - off < step ? len - off : step;
        enum dmarcd_err rc = imap_reader_feed(r, text + off, n);
        if (rc)
            return rc;
        off += n;
    }
    return DMARCD_OK;
}

static const char stream[] =
    "* 2 EXISTS\r\n"
    "* 1 FETCH (UID 7 BODY[] {12}\r\n"
    "ab\r\n* 9 x\r\nD)\r\n"
    "* 2 FETCH (BODY[] {0}\r\n UID 8)\r\n"
    "* 3 FETCH (BODY[1] {3}\r\nxyz BODY[2] {2}\r\nuv)\r\n"
    "D5 OK done\r\n";

static void test_reader_pieces(void **state)
{
    (void)state;
    static const size_t steps[] = { 0, 1, 2, 3, 7, 13 };
    char *first = NULL;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        struct seen s;
        struct imap_reader r;
        seen_init(&s, 1024);
        imap_reader_init(&r, &seen_ops, &s);
        assert_int_equal(feed(&r, stream, sizeof(stream) - 1, steps[i]), DMARCD_OK);
        assert_true(imap_reader_idle(&r));
        assert_int_equal(s.responses, 5);
        /* every literal's bytes, CRLFs and "* " lines inside included, and nothing else */
        assert_string_equal(s.body.buf, "ab\r\n* 9 x\r\nDxyzuv");
        if (!first)
            first = strbuf_detach(&s.log, NULL);
        else
            assert_string_equal(s.log.buf, first);  /* the same whatever the piece size */
        imap_reader_release(&r);
        seen_release(&s);
    }
    assert_string_equal(first,
                        "R:* 2 EXISTS\n"
                        "L12:* 1 FETCH (UID 7 BODY[] {12}\n"
                        "R:* 1 FETCH (UID 7 BODY[] {12})\n"
                        "L0:* 2 FETCH (BODY[] {0}\n"
                        "R:* 2 FETCH (BODY[] {0} UID 8)\n"
                        "L3:* 3 FETCH (BODY[1] {3}\n"
                        "L2:* 3 FETCH (BODY[1] {3} BODY[2] {2}\n"
                        "R:* 3 FETCH (BODY[1] {3} BODY[2] {2})\n"
                        "R:D5 OK done\n");
    free(first);
}

static void test_reader_edges(void **state)
{
    (void)state;
    struct seen s;
    struct imap_reader r;
    seen_init(&s, 0);
    imap_reader_init(&r, &seen_ops, &s);
    /* bare LF ends a line too; a literal skipped; "{3}" in the middle is no literal */
    static const char t1[] = "* OK a {3} b\n* X {3}\r\nabc\r\n* Y\r\n";
    assert_int_equal(feed(&r, t1, sizeof(t1) - 1, 0), DMARCD_OK);
    assert_string_equal(s.log.buf, "R:* OK a {3} b\nL3:* X {3}\nR:* X {3}\nR:* Y\n");
    assert_int_equal(s.body.len, 0);
    /* a half line waits for the rest */
    assert_int_equal(feed(&r, "* Z", 3, 0), DMARCD_OK);
    assert_false(imap_reader_idle(&r));
    imap_reader_reset(&r);
    assert_true(imap_reader_idle(&r));
    /* a callback's error stops the feed and leaves the reader refusing input */
    s.fail_with = DMARCD_E_DB;
    assert_int_equal(feed(&r, "* A\r\n* B\r\n", 10, 0), DMARCD_E_DB);
    assert_int_equal(feed(&r, "* C\r\n", 5, 0), DMARCD_E_INVALID);
    assert_false(imap_reader_idle(&r));
    imap_reader_reset(&r);
    s.fail_with = DMARCD_OK;
    assert_int_equal(feed(&r, "* C\r\n", 5, 0), DMARCD_OK);
    imap_reader_release(&r);
    seen_release(&s);
}

static void test_reader_limits(void **state)
{
    (void)state;
    struct seen s;
    struct imap_reader r;
    seen_init(&s, 4);
    imap_reader_init(&r, &seen_ops, &s);
    /* a literal bigger than the buffer the callback chose */
    static const char big[] = "* 1 FETCH (BODY[] {5}\r\nabcde)\r\n";
    assert_int_equal(feed(&r, big, sizeof(big) - 1, 0), DMARCD_E_TOO_BIG);
    imap_reader_reset(&r);
    /* a response line without end */
    char *line = malloc(IMAP_MAX_RESPONSE_TEXT + 2);
    memset(line, 'x', IMAP_MAX_RESPONSE_TEXT + 1);
    assert_int_equal(feed(&r, line, IMAP_MAX_RESPONSE_TEXT + 1, 4096), DMARCD_E_TOO_LONG);
    free(line);
    imap_reader_release(&r);
    seen_release(&s);
}

/* ---- responses ---- */

static struct imap_response parse_ok(const char *text)
{
    struct imap_response r;
    assert_true(imap_response_parse(slice_from_cstr(text), &r));
    return r;
}

static void test_response_parse(void **state)
{
    (void)state;
    struct imap_response r = parse_ok("* OK [UIDVALIDITY 3857529045] UIDs valid");
    assert_int_equal(r.kind, IMAP_RESP_UNTAGGED);
    assert_true(imap_response_is_status(&r));
    assert_true(slice_eq_cstr(r.code, "UIDVALIDITY"));
    assert_true(slice_eq_cstr(r.code_args, "3857529045"));
    assert_true(slice_eq_cstr(r.rest, "UIDs valid"));

    r = parse_ok("* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited");
    assert_true(slice_eq_cstr(r.code, "PERMANENTFLAGS"));
    assert_true(slice_eq_cstr(r.code_args, "(\\Deleted \\Seen \\*)"));

    r = parse_ok("D12 NO [TRYCREATE] Mailbox doesn't exist: Processed");
    assert_int_equal(r.kind, IMAP_RESP_TAGGED);
    assert_true(slice_eq_cstr(r.tag, "D12"));
    assert_true(slice_eq_cstr(r.name, "NO"));
    assert_true(slice_eq_cstr(r.code, "TRYCREATE"));
    assert_int_equal(r.code_args.len, 0);

    r = parse_ok("D3 OK [READ-WRITE] Select completed");
    assert_true(slice_eq_cstr(r.code, "READ-WRITE"));

    r = parse_ok("* 0 EXISTS");
    assert_true(r.has_number);
    assert_int_equal(r.number, 0);
    assert_true(slice_eq_cstr(r.name, "EXISTS"));
    r = parse_ok("* 4294967295 EXPUNGE");
    assert_int_equal(r.number, 4294967295u);

    r = parse_ok("* 12 FETCH (UID 4 BODY[] {3})");
    assert_int_equal(r.number, 12);
    assert_true(slice_eq_cstr(r.name, "FETCH"));
    assert_true(slice_eq_cstr(r.rest, "(UID 4 BODY[] {3})"));

    r = parse_ok("* SEARCH");
    assert_true(slice_eq_cstr(r.name, "SEARCH"));
    assert_int_equal(r.rest.len, 0);
    assert_false(imap_response_is_status(&r));

    r = parse_ok("* BYE Server shutting down");
    assert_true(imap_response_is_status(&r));
    r = parse_ok("+ Ready");
    assert_int_equal(r.kind, IMAP_RESP_CONTINUE);
    assert_true(slice_eq_cstr(r.rest, "Ready"));
    r = parse_ok("* OK [ALERT unclosed");     /* no ']': no code, all is text */
    assert_int_equal(r.code.len, 0);

    struct imap_response bad;
    assert_false(imap_response_parse(slice_from_cstr(""), &bad));
    assert_false(imap_response_parse(slice_from_cstr("*"), &bad));
    assert_false(imap_response_parse(slice_from_cstr("* 4294967296 EXISTS"), &bad));
    assert_false(imap_response_parse(slice_from_cstr("* 01x EXISTS"), &bad));
    assert_false(imap_response_parse(slice_from_cstr("(x OK"), &bad));
    assert_false(imap_response_parse(slice_from_cstr("* 3"), &bad));
}

static void test_numbers(void **state)
{
    (void)state;
    uint32_t n = 0;
    assert_true(imap_parse_nz32(slice_from_cstr("1"), &n));
    assert_int_equal(n, 1);
    assert_true(imap_parse_nz32(slice_from_cstr("4294967295"), &n));
    assert_int_equal(n, 4294967295u);
    assert_false(imap_parse_nz32(slice_from_cstr("0"), &n));
    assert_false(imap_parse_nz32(slice_from_cstr("4294967296"), &n));
    assert_false(imap_parse_nz32(slice_from_cstr("12345678901"), &n));
    assert_false(imap_parse_nz32(slice_from_cstr("-1"), &n));
    assert_false(imap_parse_nz32(slice_from_cstr("1 "), &n));
    assert_false(imap_parse_nz32(slice_from_cstr(""), &n));
}

static void test_search(void **state)
{
    (void)state;
    uint32_t uids[4];
    size_t n = 99;
    assert_true(imap_parse_search(slice_from_cstr(""), uids, 4, &n));
    assert_int_equal(n, 0);
    assert_true(imap_parse_search(slice_from_cstr("2 84 882"), uids, 4, &n));
    assert_int_equal(n, 3);
    assert_int_equal(uids[0], 2);
    assert_int_equal(uids[2], 882);
    assert_true(imap_parse_search(slice_from_cstr("5 7 (MODSEQ 917162500)"), uids, 4, &n));
    assert_int_equal(n, 2);
    assert_true(imap_parse_search(slice_from_cstr("1 2 3 4"), uids, 4, &n));
    assert_false(imap_parse_search(slice_from_cstr("1 2 3 4 5"), uids, 4, &n));   /* over max */
    assert_false(imap_parse_search(slice_from_cstr("1 x"), uids, 4, &n));
    assert_false(imap_parse_search(slice_from_cstr("0"), uids, 4, &n));
}

static void test_capabilities_and_flags(void **state)
{
    (void)state;
    unsigned caps = imap_parse_capabilities(
        slice_from_cstr("IMAP4rev1 SASL-IR LITERAL+ UIDPLUS LIST-EXTENDED MOVE SPECIAL-USE"));
    assert_int_equal(caps, IMAP_CAP_IMAP4REV1 | IMAP_CAP_UIDPLUS | IMAP_CAP_MOVE);
    assert_int_equal(imap_parse_capabilities(slice_from_cstr("imap4rev1 move")),
                     IMAP_CAP_IMAP4REV1 | IMAP_CAP_MOVE);
    assert_int_equal(imap_parse_capabilities(slice_from_cstr("IMAP4rev1 MOVEX UIDPLUS2")),
                     IMAP_CAP_IMAP4REV1);
    assert_int_equal(imap_parse_capabilities(slice_from_cstr("")), 0);

    struct slice dovecot = slice_from_cstr("(\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)");
    struct slice exchange =
        slice_from_cstr("(\\Seen \\Answered \\Flagged \\Deleted \\Draft $MDNSent)");
    assert_true(imap_flags_permit(dovecot, "DmarcdStored"));
    assert_true(imap_flags_permit(dovecot, "\\Seen"));
    assert_false(imap_flags_permit(exchange, "DmarcdStored"));
    assert_true(imap_flags_permit(exchange, "$MDNSent"));
    assert_true(imap_flags_permit(exchange, "\\seen"));
    assert_false(imap_flags_permit(slice_from_cstr("()"), "\\Seen"));
    assert_true(imap_flags_permit(slice_from_cstr("(DmarcdStored)"), "DmarcdStored"));
}

static void test_fetch(void **state)
{
    (void)state;
    struct imap_fetch f;
    assert_true(imap_parse_fetch(slice_from_cstr("(UID 42 BODY[] {1234})"), &f));
    assert_true(f.has_uid);
    assert_int_equal(f.uid, 42);
    assert_int_equal(f.body, IMAP_BODY_LITERAL);

    /* the UID after the body, flags with a keyword, a section with spaces */
    assert_true(imap_parse_fetch(
        slice_from_cstr("(FLAGS (\\Seen DmarcdStored) BODY[HEADER.FIELDS (FROM TO)] {20} "
                        "RFC822.SIZE 99 body[] {5} UID 7 MODSEQ (12))"),
        &f));
    assert_int_equal(f.uid, 7);
    assert_int_equal(f.body, IMAP_BODY_LITERAL);

    assert_true(imap_parse_fetch(slice_from_cstr("(UID 3 BODY[] \"a \\\"q\\\" \\\\ b\")"), &f));
    assert_int_equal(f.body, IMAP_BODY_QUOTED);
    struct strbuf out;
    strbuf_init(&out, 0);
    assert_int_equal(imap_unquote(f.quoted, &out), DMARCD_OK);
    assert_string_equal(out.buf, "a \"q\" \\ b");
    strbuf_release(&out);

    assert_true(imap_parse_fetch(slice_from_cstr("(UID 3 BODY[] NIL)"), &f));
    assert_int_equal(f.body, IMAP_BODY_NIL);
    assert_true(imap_parse_fetch(slice_from_cstr("(FLAGS (\\Seen))"), &f));
    assert_false(f.has_uid);
    assert_int_equal(f.body, IMAP_BODY_NONE);
    assert_true(imap_parse_fetch(slice_from_cstr(" ( UID 9 )"), &f));
    assert_int_equal(f.uid, 9);

    assert_false(imap_parse_fetch(slice_from_cstr("UID 3"), &f));
    assert_false(imap_parse_fetch(slice_from_cstr("(UID 3"), &f));
    assert_false(imap_parse_fetch(slice_from_cstr("(UID x)"), &f));
    assert_false(imap_parse_fetch(slice_from_cstr("(UID)"), &f));
    assert_false(imap_parse_fetch(slice_from_cstr("(FLAGS (\\Seen)"), &f));
    assert_false(imap_parse_fetch(slice_from_cstr("(BODY[ {3})"), &f));
    assert_false(imap_parse_fetch(slice_from_cstr("(BODY[] \"open)"), &f));
    assert_false(imap_parse_fetch(slice_from_cstr("(BODY[] FOO)"), &f));

    assert_true(imap_literal_is_body(slice_from_cstr("* 1 FETCH (UID 4 BODY[] {10}")));
    assert_true(imap_literal_is_body(slice_from_cstr("* 1 FETCH (BODY[] {10}")));
    assert_true(imap_literal_is_body(slice_from_cstr("* 1 FETCH (UID 4 body[]  {10}")));
    assert_false(imap_literal_is_body(slice_from_cstr("* 1 FETCH (UID 4 BODY[1] {10}")));
    assert_false(imap_literal_is_body(slice_from_cstr("* 1 FETCH (UID 4 XBODY[] {10}")));
    assert_false(imap_literal_is_body(slice_from_cstr("* LIST () \"/\" {10}")));
    assert_false(imap_literal_is_body(slice_from_cstr("BODY[] 10}")));
}

/* ---- command arguments ---- */

static void expect_mailbox(const char *utf8, const char *want)
{
    struct strbuf out;
    strbuf_init(&out, 0);
    assert_int_equal(imap_mailbox_arg(utf8, &out), DMARCD_OK);
    assert_string_equal(out.buf, want);
    strbuf_release(&out);
}

static void test_mailbox_names(void **state)
{
    (void)state;
    expect_mailbox("INBOX", "\"INBOX\"");
    expect_mailbox("Processed", "\"Processed\"");
    expect_mailbox("a&b", "\"a&-b\"");
    expect_mailbox("INBOX/DMARC reports", "\"INBOX/DMARC reports\"");
    expect_mailbox("Entw\xc3\xbcrfe", "\"Entw&APw-rfe\"");
    /* RFC 3501 5.1.3's example: ~peter/mail/<taipei>/<japanese> */
    expect_mailbox("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
                   "\"~peter/mail/&U,BTFw-/&ZeVnLIqe-\"");
    expect_mailbox("\xf0\x9f\x98\x80", "\"&2D3eAA-\"");    /* beyond the BMP: a surrogate pair */
    expect_mailbox("say \"hi\" \\o/", "\"say \\\"hi\\\" \\\\o/\"");

    struct strbuf out;
    strbuf_init(&out, 0);
    assert_int_equal(imap_mailbox_arg("", &out), DMARCD_E_INVALID);
    assert_int_equal(imap_mailbox_arg("a\r\nb", &out), DMARCD_E_INVALID);
    assert_int_equal(imap_mailbox_arg("tab\there", &out), DMARCD_E_INVALID);
    assert_int_equal(imap_mailbox_arg("bad\xc3", &out), DMARCD_E_INVALID);       /* cut short */
    assert_int_equal(imap_mailbox_arg("bad\xc0\xaf", &out), DMARCD_E_INVALID);   /* overlong */
    assert_int_equal(imap_mailbox_arg("bad\xed\xa0\x80", &out), DMARCD_E_INVALID); /* surrogate */
    assert_int_equal(imap_mailbox_arg("bad\xff", &out), DMARCD_E_INVALID);
    strbuf_release(&out);
}

static void expect_set(const uint32_t *uids, size_t n, const char *want)
{
    struct strbuf out;
    strbuf_init(&out, 0);
    imap_uid_set(uids, n, &out);
    assert_string_equal(out.buf, want);
    strbuf_release(&out);
}

static void test_uid_set(void **state)
{
    (void)state;
    static const uint32_t a[] = { 1 }, b[] = { 1, 2, 3, 7, 9, 10 }, c[] = { 4, 6, 8 },
                          d[] = { 4294967294u, 4294967295u };
    expect_set(a, 1, "1");
    expect_set(b, 6, "1:3,7,9:10");
    expect_set(c, 3, "4,6,8");
    expect_set(d, 2, "4294967294:4294967295");
}

/* ---- the URL ---- */

static void test_url(void **state)
{
    (void)state;
    struct imap_url u;
    struct strbuf why;
    strbuf_init(&why, 0);

    assert_int_equal(imap_url_parse("imaps://imap.example.com/INBOX", &u, &why), DMARCD_OK);
    assert_true(u.tls);
    assert_string_equal(u.host, "imap.example.com");
    assert_int_equal(u.port, 993);
    assert_string_equal(u.mailbox, "INBOX");
    assert_string_equal(u.connect, "imaps://imap.example.com:993/");
    assert_string_equal(u.display, "imaps://imap.example.com:993/INBOX");
    imap_url_release(&u);

    assert_int_equal(imap_url_parse("IMAP://127.0.0.1:1143", &u, &why), DMARCD_OK);
    assert_false(u.tls);
    assert_int_equal(u.port, 1143);
    assert_string_equal(u.mailbox, "INBOX");
    assert_string_equal(u.display, "imap://127.0.0.1:1143/INBOX");
    imap_url_release(&u);

    assert_int_equal(imap_url_parse("imap://[::1]/Reports%2FDMARC%20rua/", &u, &why), DMARCD_OK);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 143);
    assert_string_equal(u.mailbox, "Reports/DMARC rua");
    assert_string_equal(u.connect, "imap://[::1]:143/");
    assert_string_equal(u.display, "imap://[::1]:143/Reports%2FDMARC%20rua");
    imap_url_release(&u);

    assert_int_equal(imap_url_parse("imaps://[2001:db8::5]:10993/Entw%C3%BCrfe", &u, &why),
                     DMARCD_OK);
    assert_string_equal(u.mailbox, "Entw\xc3\xbcrfe");
    assert_int_equal(u.port, 10993);
    imap_url_release(&u);

    static const char *const bad[] = {
        "", "imap:/host", "http://host/INBOX", "imaps://user:pw@host/INBOX",
        "imaps://user@host/INBOX", "imaps://host:0/", "imaps://host:65536/",
        "imaps://host:x/", "imaps://host:/", "imaps:///INBOX", "imaps://ho st/",
        "imaps://host/INBOX;UIDVALIDITY=3", "imaps://host/INBOX?x", "imaps://host/%zz",
        "imaps://host/%C3", "imaps://host/a%0Db", "imaps://[::1/", "imaps://[::1]x/",
        "imaps://[fe80::1%25eth0]/",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        strbuf_reset(&why);
        if (imap_url_parse(bad[i], &u, &why) != DMARCD_E_CONFIG)
            fail_msg("accepted: %s", bad[i]);
        assert_true(why.len > 0);
        assert_null(u.host);
    }
    /* the reason never repeats a password */
    strbuf_reset(&why);
    assert_int_equal(imap_url_parse("imaps://me:hunter2@host/", &u, &why), DMARCD_E_CONFIG);
    assert_null(strstr(why.buf, "hunter2"));
    strbuf_release(&why);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_pieces),
        cmocka_unit_test(test_reader_edges),
        cmocka_unit_test(test_reader_limits),
        cmocka_unit_test(test_response_parse),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_search),
        cmocka_unit_test(test_capabilities_and_flags),
        cmocka_unit_test(test_fetch),
        cmocka_unit_test(test_mailbox_names),
        cmocka_unit_test(test_uid_set),
        cmocka_unit_test(test_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
