/*
 * test_smtp_proto.c - the SMTP/LMTP dialogue of ingest/smtp_proto.h driven
 * without sockets: command sequencing, pipelined input, DATA's end marker,
 * dot-unstuffing and bare LF/CR, line and size limits, the SIZE parameter,
 * relay refusal, routing candidates, LMTP's per-recipient replies and
 * STARTTLS dropping what was pipelined after it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/smtp_proto.h"
#include "lib/banned.h"

#define MAX_MSG 4096

static const char *const DOMAINS[] = { "reports.test", "dmarc.example" };

struct chat {
    struct smtp_proto_config cfg;
    struct smtp_session *s;
    char out[1 << 20];
    size_t outlen;
    enum smtp_outcome outcome;      /* what deliveries answer */
    enum smtp_event last_event;
    size_t consumed;                /* bytes the last say() consumed */
    int messages;
    char msg[MAX_MSG * 2 + 1];
    size_t msg_len;
    char tags[8][3][64];            /* per recipient: address, tag, base ("-" for NULL) */
    size_t nrcpts;
    char from[300];
};

static void append_output(struct chat *c)
{
    struct slice o = smtp_session_output(c->s);
    assert_true(c->outlen + o.len < sizeof(c->out));
    memcpy(c->out + c->outlen, o.ptr, o.len);
    c->outlen += o.len;
    c->out[c->outlen] = '\0';
    smtp_session_output_clear(c->s);
}

static void capture(struct chat *c)
{
    struct smtp_message m;
    smtp_session_message(c->s, &m);
    assert_true(m.len <= sizeof(c->msg) - 1);
    memcpy(c->msg, m.data, m.len);
    c->msg[m.len] = '\0';
    c->msg_len = m.len;
    snprintf(c->from, sizeof(c->from), "%s", m.mail_from);
    c->nrcpts = m.nrcpts;
    for (size_t i = 0; i < m.nrcpts && i < 8; i++) {
        snprintf(c->tags[i][0], 64, "%s", m.rcpts[i].address);
        snprintf(c->tags[i][1], 64, "%s", m.rcpts[i].tag ? m.rcpts[i].tag : "-");
        snprintf(c->tags[i][2], 64, "%s", m.rcpts[i].base ? m.rcpts[i].base : "-");
    }
    c->messages++;
}

/* Feeds len bytes in pieces of at most step (0: all at once); returns the replies. */
static const char *say_n(struct chat *c, const char *in, size_t len, size_t step)
{
    size_t off = 0;
    c->outlen = 0;
    c->out[0] = '\0';
    c->last_event = SMTP_EVENT_NONE;
    while (off < len) {
        size_t n = step && len - off > step ? step : len - off;
        enum smtp_event ev;
        size_t used = smtp_session_feed(c->s, in + off, n, &ev);
        assert_true(used <= n);
        off += used;
        c->last_event = ev;
        append_output(c);
        if (ev == SMTP_EVENT_MESSAGE) {
            capture(c);
            smtp_session_delivered(c->s, c->outcome, "stored as 7");
            append_output(c);
        } else if (ev == SMTP_EVENT_STARTTLS || ev == SMTP_EVENT_CLOSE) {
            break;
        } else {
            assert_int_equal(used, n);
        }
    }
    c->consumed = off;
    return c->out;
}

static const char *say(struct chat *c, const char *in)
{
    return say_n(c, in, strlen(in), 0);
}

static void chat_start(struct chat *c, enum smtp_protocol proto, bool tls)
{
    memset(c, 0, sizeof(*c));
    c->cfg = (struct smtp_proto_config){ .protocol = proto,
                                         .hostname = "mx.test",
                                         .domains = DOMAINS,
                                         .ndomains = 2,
                                         .max_message_bytes = MAX_MSG,
                                         .max_recipients = 3,
                                         .tls_available = tls };
    c->s = smtp_session_new(&c->cfg);
    smtp_session_greet(c->s);
    c->outlen = 0;
    append_output(c);
}

static int setup(void **state)
{
    struct chat *c = malloc(sizeof(*c));
    chat_start(c, SMTP_PROTOCOL_SMTP, false);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct chat *c = *state;
    smtp_session_free(c->s);
    free(c);
    return 0;
}

/* Restarts the chat with other settings (the old session is freed). */
static void restart(struct chat *c, enum smtp_protocol proto, bool tls)
{
    smtp_session_free(c->s);
    chat_start(c, proto, tls);
}

#define assert_has(hay, needle) assert_non_null(strstr((hay), (needle)))
#define assert_lacks(hay, needle) assert_null(strstr((hay), (needle)))

static void test_greeting_and_ehlo(void **state)
{
    struct chat *c = *state;
    assert_string_equal(c->out, "220 mx.test ESMTP dmarcd ready\r\n");
    assert_string_equal(say(c, "EHLO client.example\r\n"),
                        "250-mx.test hello client.example\r\n"
                        "250-PIPELINING\r\n"
                        "250-SIZE 4096\r\n"
                        "250-8BITMIME\r\n"
                        "250 ENHANCEDSTATUSCODES\r\n");
    assert_string_equal(say(c, "HELO client.example\r\n"), "250 mx.test\r\n");
    assert_has(say(c, "EHLO\r\n"), "501 5.5.4");
    assert_has(say(c, "LHLO x\r\n"), "500 5.5.1");
    restart(c, SMTP_PROTOCOL_SMTP, true);
    assert_has(say(c, "ehlo x\r\n"), "250-STARTTLS\r\n");
}

static void test_sequencing(void **state)
{
    struct chat *c = *state;
    assert_has(say(c, "MAIL FROM:<a@b.example>\r\n"), "503 5.5.1");
    assert_has(say(c, "RCPT TO:<rua@reports.test>\r\n"), "503 5.5.1");
    assert_has(say(c, "DATA\r\n"), "503 5.5.1");
    say(c, "EHLO x\r\n");
    assert_has(say(c, "DATA\r\n"), "503 5.5.1 need MAIL and RCPT");
    assert_has(say(c, "MAIL FROM:<a@b.example>\r\n"), "250 2.1.0");
    assert_true(smtp_session_in_transaction(c->s));
    assert_has(say(c, "DATA\r\n"), "503 5.5.1 need RCPT before DATA");
    assert_has(say(c, "MAIL FROM:<a@b.example>\r\n"), "503 5.5.1 nested MAIL");
    assert_has(say(c, "RSET\r\n"), "250 2.0.0");
    assert_false(smtp_session_in_transaction(c->s));
    assert_has(say(c, "RCPT TO:<rua@reports.test>\r\n"), "503 5.5.1");
    assert_has(say(c, "DATA extra\r\n"), "501 5.5.4");
    assert_has(say(c, "RSET now\r\n"), "501 5.5.4");
    assert_has(say(c, "NOOP whatever\r\n"), "250 2.0.0");
    assert_has(say(c, "VRFY root\r\n"), "252 2.5.2");
    assert_has(say(c, "EXPN list\r\n"), "502 5.5.1");
    assert_has(say(c, "HELP\r\n"), "214 ");
    assert_has(say(c, "BDAT 10 LAST\r\n"), "500 5.5.1");
    assert_has(say(c, "STARTTLS\r\n"), "502 5.5.1");
    assert_has(say_n(c, "NO\0OP\r\n", 7, 0), "500 5.5.2 syntax error: NUL");
    assert_string_equal(say(c, "QUIT\r\n"), "221 2.0.0 mx.test closing connection\r\n");
    assert_int_equal(c->last_event, SMTP_EVENT_CLOSE);
    assert_int_equal(c->messages, 0);
}

static const char PIPELINED[] = "EHLO x\r\n"
                                "MAIL FROM:<sender@reporter.example> BODY=8BITMIME SIZE=100\r\n"
                                "RCPT TO:<rua+acme@reports.test>\r\n"
                                "RCPT TO:<elsewhere@other.example>\r\n"
                                "RCPT TO:<Acme@REPORTS.TEST.>\r\n"
                                "DATA\r\n"
                                "Subject: report\r\n"
                                "\r\n"
                                "body\r\n"
                                ".\r\n"
                                "MAIL FROM:<>\r\n"
                                "RCPT TO:<postmaster>\r\n"
                                "DATA\r\n"
                                "second\r\n"
                                ".\r\n"
                                "QUIT\r\n";

static void check_pipelined(struct chat *c, const char *out)
{
    const char *want = "250 ENHANCEDSTATUSCODES\r\n"
                       "250 2.1.0 Ok\r\n"
                       "250 2.1.5 Ok\r\n"
                       "550 5.7.1 relay access denied: not a report address of this server\r\n"
                       "250 2.1.5 Ok\r\n"
                       "354 end data with <CR><LF>.<CR><LF>\r\n"
                       "250 2.0.0 Ok: stored as 7\r\n"
                       "250 2.1.0 Ok\r\n"
                       "250 2.1.5 Ok\r\n"
                       "354 end data with <CR><LF>.<CR><LF>\r\n"
                       "250 2.0.0 Ok: stored as 7\r\n"
                       "221 2.0.0 mx.test closing connection\r\n";
    const char *tail = strstr(out, "250 ENHANCEDSTATUSCODES\r\n");
    assert_non_null(tail);
    assert_string_equal(tail, want);
    assert_int_equal(c->messages, 2);
    assert_string_equal(c->msg, "second\r\n");
    assert_string_equal(c->from, "");
    assert_int_equal(c->last_event, SMTP_EVENT_CLOSE);
}

/* Everything in one packet, and again one byte at a time. */
static void test_pipelining(void **state)
{
    struct chat *c = *state;
    const char *out = say_n(c, PIPELINED, sizeof(PIPELINED) - 1, 0);
    check_pipelined(c, out);
    assert_int_equal(c->consumed, sizeof(PIPELINED) - 1);
    restart(c, SMTP_PROTOCOL_SMTP, false);
    out = say_n(c, PIPELINED, sizeof(PIPELINED) - 1, 1);
    check_pipelined(c, out);
    restart(c, SMTP_PROTOCOL_SMTP, false);
    out = say_n(c, PIPELINED, sizeof(PIPELINED) - 1, 7);
    check_pipelined(c, out);
}

static void test_routing_candidates(void **state)
{
    struct chat *c = *state;
    say(c, "EHLO x\r\nMAIL FROM:<a@b.example>\r\n");
    assert_has(say(c, "RCPT TO:<rua+Acme@reports.test>\r\n"), "250 2.1.5");
    assert_has(say(c, "RCPT TO:<@relay.example,@other.example:ACME@dmarc.example>\r\n"),
               "250 2.1.5");
    assert_has(say(c, "RCPT TO:<\"odd name\"@reports.test>\r\n"), "250 2.1.5");
    assert_has(say(c, "RCPT TO:<fourth@reports.test>\r\n"), "452 4.5.3");
    say(c, "DATA\r\nx\r\n.\r\n");
    assert_int_equal(c->messages, 1);
    assert_int_equal(c->nrcpts, 3);
    assert_string_equal(c->tags[0][0], "rua+Acme@reports.test");
    assert_string_equal(c->tags[0][1], "acme");
    assert_string_equal(c->tags[0][2], "rua");
    assert_string_equal(c->tags[1][0], "ACME@dmarc.example");
    assert_string_equal(c->tags[1][1], "-");
    assert_string_equal(c->tags[1][2], "acme");
    assert_string_equal(c->tags[2][1], "-");
    assert_string_equal(c->tags[2][2], "-");
}

static void test_relay_and_syntax(void **state)
{
    struct chat *c = *state;
    say(c, "EHLO x\r\n");
    assert_has(say(c, "MAIL FROM:<a@b.example\r\n"), "501 5.1.7");
    assert_has(say(c, "MAIL FROM:<not an address>\r\n"), "501 5.1.7");
    assert_has(say(c, "MAIL TO:<a@b.example>\r\n"), "501 5.5.4");
    assert_has(say(c, "MAIL FROM: <a@b.example>\r\n"), "250 2.1.0");
    assert_has(say(c, "RCPT TO:<rua@reports.test.evil.example>\r\n"), "550 5.7.1");
    assert_has(say(c, "RCPT TO:<rua@sub.reports.test>\r\n"), "550 5.7.1");
    assert_has(say(c, "RCPT TO:<rua@[127.0.0.1]>\r\n"), "550 5.7.1");
    assert_has(say(c, "RCPT TO:<rua@reports.test@evil.example>\r\n"), "501 5.1.3");
    assert_has(say(c, "RCPT TO:<>\r\n"), "501 5.1.3");
    assert_has(say(c, "RCPT TO:<rua@reports.test> NOTIFY=NEVER\r\n"), "555 5.5.4");
    assert_has(say(c, "RCPT TO:rua@reports.test\r\n"), "250 2.1.5");
    char long_rcpt[400];
    snprintf(long_rcpt, sizeof(long_rcpt), "RCPT TO:<%0300d@reports.test>\r\n", 0);
    assert_has(say(c, long_rcpt), "501 5.1.3 recipient address too long");
}

static void test_size_parameter(void **state)
{
    struct chat *c = *state;
    assert_has(say(c, "HELO x\r\nMAIL FROM:<a@b.example> SIZE=10\r\n"), "555 5.5.4");
    say(c, "EHLO x\r\n");
    assert_has(say(c, "MAIL FROM:<a@b.example> SIZE=4097\r\n"), "552 5.3.4");
    assert_has(say(c, "MAIL FROM:<a@b.example> SIZE=99999999999999999999\r\n"), "552 5.3.4");
    assert_has(say(c, "MAIL FROM:<a@b.example> SIZE=999999999999999999999\r\n"), "501 5.5.4");
    assert_has(say(c, "MAIL FROM:<a@b.example> SIZE=12k\r\n"), "501 5.5.4");
    assert_has(say(c, "MAIL FROM:<a@b.example> SIZE=\r\n"), "501 5.5.4");
    assert_has(say(c, "MAIL FROM:<a@b.example> AUTH=<>\r\n"), "555 5.5.4");
    assert_has(say(c, "MAIL FROM:<a@b.example> BODY=BINARYMIME\r\n"), "555 5.5.4");
    assert_false(smtp_session_in_transaction(c->s));
    assert_has(say(c, "MAIL FROM:<a@b.example>  size=4096   body=7bit\r\n"), "250 2.1.0");
}

static void test_dot_unstuffing(void **state)
{
    struct chat *c = *state;
    say(c, "EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<rua@reports.test>\r\nDATA\r\n");
    say(c, "..leading dot\r\n"
           "...\r\n"
           ".x\r\n"
           "..\r\n"
           "middle . dot\r\n"
           ".\r\n");
    assert_int_equal(c->messages, 1);
    assert_string_equal(c->msg, ".leading dot\r\n"
                                "..\r\n"
                                "x\r\n"
                                ".\r\n"
                                "middle . dot\r\n");
    /* an empty message, and a message whose end marker arrives split */
    say(c, "MAIL FROM:<a@b.example>\r\nRCPT TO:<rua@reports.test>\r\nDATA\r\n.\r\n");
    assert_int_equal(c->messages, 2);
    assert_int_equal(c->msg_len, 0);
    say(c, "MAIL FROM:<a@b.example>\r\nRCPT TO:<rua@reports.test>\r\nDATA\r\nabc\r");
    say(c, "\n.");
    say(c, "\r");
    assert_int_equal(c->messages, 2);
    assert_has(say(c, "\n"), "250 2.0.0");
    assert_int_equal(c->messages, 3);
    assert_string_equal(c->msg, "abc\r\n");
}

/* A bare LF or CR is data and never part of the end marker. */
static void test_bare_lf(void **state)
{
    struct chat *c = *state;
    assert_has(say(c, "EHLO x\nMAIL FROM:<a@b.example>\nRCPT TO:<rua@reports.test>\n"),
               "250 2.1.5");
    assert_has(say(c, "DATA\n"), "354");
    assert_string_equal(say(c, "a\n.\nb\n"), "");
    assert_string_equal(say(c, "c\n.\r\n"), "");
    assert_string_equal(say(c, "d\r.\r\n"), "");
    assert_string_equal(say(c, "..e\r\n.\n"), "");
    assert_has(say(c, "\r\n.\r\n"), "250 2.0.0");
    assert_int_equal(c->messages, 1);
    assert_string_equal(c->msg, "a\n.\nb\nc\n.\r\nd\r.\r\n.e\r\n\n\r\n");
}

static void test_command_line_length(void **state)
{
    struct chat *c = *state;
    char line[SMTP_MAX_COMMAND_LINE + 8];
    /* exactly the limit with its CRLF: fine */
    memset(line, 'x', sizeof(line));
    memcpy(line, "NOOP ", 5);
    memcpy(line + SMTP_MAX_COMMAND_LINE - 2, "\r\n", 3);
    assert_string_equal(say(c, line), "250 2.0.0 Ok\r\n");
    /* one more: refused, and the session goes on */
    memset(line, 'x', sizeof(line));
    memcpy(line, "NOOP ", 5);
    memcpy(line + SMTP_MAX_COMMAND_LINE - 1, "\r\n", 3);
    assert_string_equal(say(c, line), "500 5.5.2 line too long\r\n");
    /* much longer, arriving in pieces */
    char big[5000];
    memset(big, 'y', sizeof(big));
    memcpy(big + sizeof(big) - 8, "\r\nNOOP\n", 8);
    assert_string_equal(say_n(c, big, sizeof(big) - 1, 100),
                        "500 5.5.2 line too long\r\n250 2.0.0 Ok\r\n");
}

static void test_data_line_length(void **state)
{
    struct chat *c = *state;
    size_t n = SMTP_MAX_DATA_LINE + 10;
    char *big = malloc(n + 16);
    c->cfg.max_message_bytes = 4 * SMTP_MAX_DATA_LINE;
    say(c, "EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<rua@reports.test>\r\nDATA\r\n");
    memset(big, 'z', n);
    memcpy(big + n, "\r\n.\r\nNOOP\r\n", 12);
    assert_string_equal(say_n(c, big, n + 11, 4096),
                        "500 5.5.2 message has a line longer than 65536 bytes\r\n"
                        "250 2.0.0 Ok\r\n");
    assert_int_equal(c->messages, 0);
    assert_false(smtp_session_in_transaction(c->s));
    free(big);
}

static void test_message_too_big(void **state)
{
    struct chat *c = *state;
    char body[MAX_MSG + 200];
    say(c, "EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<rua@reports.test>\r\nDATA\r\n");
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = i % 50 == 48 ? '\r' : i % 50 == 49 ? '\n' : 'c';
    memcpy(body + sizeof(body) - 5, "\r\n.\r\n", 5);
    assert_string_equal(say_n(c, body, sizeof(body), 333),
                        "552 5.3.4 message size exceeds fixed maximum message size (4096)\r\n");
    assert_int_equal(c->messages, 0);
    assert_int_equal(smtp_session_data_len(c->s), 0);
    /* exactly the limit is fine */
    say(c, "MAIL FROM:<a@b.example>\r\nRCPT TO:<rua@reports.test>\r\nDATA\r\n");
    memset(body, 'a', MAX_MSG - 2);
    memcpy(body + MAX_MSG - 2, "\r\n.\r\n", 5);
    assert_has(say_n(c, body, MAX_MSG + 3, 1000), "250 2.0.0");
    assert_int_equal(c->msg_len, MAX_MSG);
    /* a client that goes on past twice the limit is cut off */
    say(c, "MAIL FROM:<a@b.example>\r\nRCPT TO:<rua@reports.test>\r\nDATA\r\n");
    memset(body, 'b', sizeof(body));
    for (int i = 0; i < 3 && c->last_event != SMTP_EVENT_CLOSE; i++)
        say_n(c, body, sizeof(body), 0);
    assert_int_equal(c->last_event, SMTP_EVENT_CLOSE);
    assert_has(c->out, "552 5.3.4 message far exceeds");
}

static void test_abort_data(void **state)
{
    struct chat *c = *state;
    say(c, "EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<rua@reports.test>\r\nDATA\r\n");
    say(c, "some text\r\n");
    assert_int_equal(smtp_session_data_len(c->s), 11);
    smtp_session_abort_data(c->s, SMTP_OUTCOME_NO_SPACE);
    assert_int_equal(smtp_session_data_len(c->s), 0);
    assert_string_equal(say(c, "more text\r\n.\r\n"),
                        "452 4.3.1 insufficient system storage, try again later\r\n");
    assert_int_equal(c->messages, 0);
    assert_false(smtp_session_in_transaction(c->s));
}

static void test_outcomes(void **state)
{
    struct chat *c = *state;
    c->outcome = SMTP_OUTCOME_TEMPFAIL;
    assert_has(say(c, "EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<rua@reports.test>\r\n"
                      "DATA\r\nx\r\n.\r\n"),
               "\r\n451 4.3.0 temporary failure storing the message, try again later\r\n");
    c->outcome = SMTP_OUTCOME_TOO_BIG;
    assert_has(say(c, "MAIL FROM:<a@b.example>\r\nRCPT TO:<rua@reports.test>\r\n"
                      "DATA\r\nx\r\n.\r\n"),
               "\r\n552 5.3.4 message size exceeds");
}

static void test_lmtp(void **state)
{
    struct chat *c = *state;
    restart(c, SMTP_PROTOCOL_LMTP, false);
    assert_string_equal(c->out, "220 mx.test LMTP dmarcd ready\r\n");
    assert_has(say(c, "EHLO x\r\n"), "500 5.5.1 this is an LMTP server: use LHLO");
    assert_has(say(c, "HELO x\r\n"), "500 5.5.1");
    assert_has(say(c, "MAIL FROM:<a@b.example>\r\n"), "503 5.5.1 send LHLO first");
    assert_has(say(c, "LHLO x\r\n"), "250 ENHANCEDSTATUSCODES\r\n");
    const char *out = say(c, "MAIL FROM:<a@b.example>\r\n"
                             "RCPT TO:<rua+one@reports.test>\r\n"
                             "RCPT TO:<rua@nowhere.example>\r\n"
                             "RCPT TO:<two@dmarc.example>\r\n"
                             "DATA\r\n"
                             "text\r\n"
                             ".\r\n");
    assert_has(out, "354 end data");
    assert_has(out, "550 5.7.1");
    const char *tail = strstr(out, "354 end data with <CR><LF>.<CR><LF>\r\n");
    assert_string_equal(tail + strlen("354 end data with <CR><LF>.<CR><LF>\r\n"),
                        "250 2.0.0 <rua+one@reports.test> Ok: stored as 7\r\n"
                        "250 2.0.0 <two@dmarc.example> Ok: stored as 7\r\n");
    c->outcome = SMTP_OUTCOME_TEMPFAIL;
    out = say(c, "MAIL FROM:<a@b.example>\r\nRCPT TO:<a@reports.test>\r\n"
                 "RCPT TO:<b@reports.test>\r\nDATA\r\nx\r\n.\r\n");
    assert_has(out, "451 4.3.0 <a@reports.test> temporary");
    assert_has(out, "451 4.3.0 <b@reports.test> temporary");
}

static void test_starttls(void **state)
{
    struct chat *c = *state;
    restart(c, SMTP_PROTOCOL_SMTP, true);
    say(c, "EHLO x\r\n");
    static const char in[] = "STARTTLS\r\nMAIL FROM:<injected@evil.example>\r\n";
    assert_string_equal(say(c, in), "220 2.0.0 ready to start TLS\r\n");
    assert_int_equal(c->last_event, SMTP_EVENT_STARTTLS);
    assert_int_equal(c->consumed, strlen("STARTTLS\r\n"));
    /* until the handshake is done the session takes nothing */
    enum smtp_event ev;
    assert_int_equal(smtp_session_feed(c->s, "NOOP\r\n", 6, &ev), 0);
    smtp_session_tls_started(c->s);
    assert_has(say(c, "MAIL FROM:<a@b.example>\r\n"), "503 5.5.1 send EHLO");
    const char *out = say(c, "EHLO x\r\n");
    assert_lacks(out, "STARTTLS");
    assert_has(say(c, "STARTTLS\r\n"), "503 5.5.1 TLS already active");
    say(c, "MAIL FROM:<a@b.example>\r\nRCPT TO:<rua@reports.test>\r\nDATA\r\nx\r\n.\r\n");
    assert_int_equal(c->messages, 1);
}

static void test_too_many_errors(void **state)
{
    struct chat *c = *state;
    for (int i = 0; i < SMTP_MAX_ERRORS - 1; i++)
        assert_string_equal(say(c, "FROB\r\n"), "500 5.5.1 command not recognized\r\n");
    assert_has(say(c, "FROB\r\nNOOP\r\n"), "421 4.7.0 mx.test too many errors");
    assert_int_equal(c->last_event, SMTP_EVENT_CLOSE);
    assert_lacks(c->out, "250");
}

static void test_timeout_shutdown_busy(void **state)
{
    struct chat *c = *state;
    enum smtp_event ev;
    smtp_session_timeout(c->s);
    struct slice o = smtp_session_output(c->s);
    assert_true(slice_starts_with(o, "421 4.4.2 mx.test timeout"));
    smtp_session_output_clear(c->s);
    assert_int_equal(smtp_session_feed(c->s, "NOOP\r\n", 6, &ev), 0);
    assert_int_equal(ev, SMTP_EVENT_CLOSE);
    restart(c, SMTP_PROTOCOL_SMTP, false);
    smtp_session_shutdown(c->s);
    assert_true(slice_starts_with(smtp_session_output(c->s), "421 4.3.2 mx.test shutting down"));
    char buf[128];
    size_t n = smtp_reply_busy("mx.test", buf, sizeof(buf));
    assert_int_equal(n, strlen(buf));
    assert_string_equal(buf, "421 4.7.0 mx.test too many connections, try again later\r\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_greeting_and_ehlo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sequencing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelining, setup, teardown),
        cmocka_unit_test_setup_teardown(test_routing_candidates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relay_and_syntax, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_parameter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dot_unstuffing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bare_lf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_command_line_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_line_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_too_big, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outcomes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lmtp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_starttls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_many_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_shutdown_busy, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
