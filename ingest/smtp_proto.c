/*
 * smtp_proto.c - the SMTP/LMTP server dialogue as a state machine (see
 * smtp_proto.h for the rules it implements).
 *
 * Two input modes. In command mode bytes gather into one bounded line and
 * each complete line is answered at once. In DATA mode the text is not
 * split into lines at all: a five-state byte machine (line start, middle
 * of a line, after a CR, after a leading dot, after ".\r") finds the end
 * marker and removes stuffing dots, and the middle-of-line state copies
 * whole runs up to the next CR with memchr, so a 32 MiB message costs a
 * few memcpy calls rather than a branch per byte.
 *
 * Address parsing is deliberately lenient where RFC 5321 is strict and
 * real senders are not ("MAIL FROM: <a@b>" with a space, a path without
 * brackets, source routes), and strict where it matters: the recipient's
 * domain must be one of ours, and every length is bounded.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/smtp_proto.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "lib/banned.h"

enum mode {
    MODE_COMMAND,
    MODE_DATA,
    MODE_DELIVERING,            /* waiting for smtp_session_delivered() */
    MODE_TLS,                   /* waiting for smtp_session_tls_started() */
    MODE_CLOSED,
};

enum dstate { D_LINE_START, D_MID, D_CR, D_DOT, D_DOT_CR };

/* Why the text being received is dropped rather than kept. */
enum discard { KEEP, DROP_TOO_BIG, DROP_LONG_LINE, DROP_OUTCOME };

struct smtp_session {
    const struct smtp_proto_config *cfg;
    enum mode mode;
    struct strbuf out;

    /* command mode */
    struct strbuf line;
    bool line_overflow;         /* reading past the end of a too-long line */
    unsigned errors;

    /* session */
    bool helo_done, esmtp, tls;
    char helo[SMTP_MAX_HELO + 1];

    /* transaction */
    bool have_mail;
    struct strbuf mail_from;
    struct smtp_rcpt *rcpts;
    size_t nrcpts, rcpts_alloc;

    /* DATA */
    struct strbuf msg;
    enum dstate dstate;
    size_t line_len;            /* bytes of the current text line so far */
    size_t seen;                /* text bytes after unstuffing, kept or not */
    enum discard discard;
    enum smtp_outcome drop_outcome;
};

/* ---- replies ---- */

static void reply(struct smtp_session *s, const char *text)
{
    strbuf_addstr(&s->out, text);
    strbuf_addstr(&s->out, "\r\n");
}

static void replyf(struct smtp_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void replyf(struct smtp_session *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&s->out, fmt, ap);
    va_end(ap);
    strbuf_addstr(&s->out, "\r\n");
}

/* A refused command: counted, and too many end the session. */
static void refuse(struct smtp_session *s, const char *text)
{
    reply(s, text);
    if (++s->errors >= SMTP_MAX_ERRORS) {
        replyf(s, "421 4.7.0 %s too many errors, closing connection", s->cfg->hostname);
        s->mode = MODE_CLOSED;
    }
}

/* ---- life cycle ---- */

struct smtp_session *smtp_session_new(const struct smtp_proto_config *cfg)
{
    struct smtp_session *s = xcalloc(1, sizeof(*s));
    s->cfg = cfg;
    s->mode = MODE_COMMAND;
    strbuf_init(&s->out, 0);
    strbuf_init(&s->line, SMTP_MAX_COMMAND_LINE);
    strbuf_init(&s->mail_from, SMTP_MAX_PATH);
    strbuf_init(&s->msg, 0);
    return s;
}

static void rcpts_clear(struct smtp_session *s)
{
    for (size_t i = 0; i < s->nrcpts; i++) {
        free(s->rcpts[i].address);
        free(s->rcpts[i].tag);
        free(s->rcpts[i].base);
    }
    s->nrcpts = 0;
}

/* Forgets the transaction (RSET, EHLO, end of a message). */
static void transaction_reset(struct smtp_session *s)
{
    s->have_mail = false;
    strbuf_reset(&s->mail_from);
    rcpts_clear(s);
    strbuf_release(&s->msg);
    strbuf_init(&s->msg, 0);
    s->seen = 0;
    s->line_len = 0;
    s->dstate = D_LINE_START;
    s->discard = KEEP;
}

void smtp_session_free(struct smtp_session *s)
{
    if (!s)
        return;
    rcpts_clear(s);
    free(s->rcpts);
    strbuf_release(&s->out);
    strbuf_release(&s->line);
    strbuf_release(&s->mail_from);
    strbuf_release(&s->msg);
    free(s);
}

void smtp_session_greet(struct smtp_session *s)
{
    replyf(s, "220 %s %s dmarcd ready", s->cfg->hostname,
           s->cfg->protocol == SMTP_PROTOCOL_LMTP ? "LMTP" : "ESMTP");
}

struct slice smtp_session_output(const struct smtp_session *s)
{
    return strbuf_slice(&s->out);
}

void smtp_session_output_clear(struct smtp_session *s)
{
    strbuf_reset(&s->out);
}

bool smtp_session_in_transaction(const struct smtp_session *s)
{
    return s->have_mail || s->mode == MODE_DATA || s->mode == MODE_DELIVERING;
}

size_t smtp_session_data_len(const struct smtp_session *s)
{
    return s->msg.len;
}

void smtp_session_timeout(struct smtp_session *s)
{
    replyf(s, "421 4.4.2 %s timeout, closing connection", s->cfg->hostname);
    s->mode = MODE_CLOSED;
}

void smtp_session_shutdown(struct smtp_session *s)
{
    replyf(s, "421 4.3.2 %s shutting down, try again later", s->cfg->hostname);
    s->mode = MODE_CLOSED;
}

size_t smtp_reply_busy(const char *hostname, char *buf, size_t size)
{
    int n = snprintf(buf, size, "421 4.7.0 %.64s too many connections, try again later\r\n",
                     hostname);
    return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

/* ---- lexical helpers ---- */

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* RFC 5322 atext, plus '.' for a dot-string. */
static bool is_dot_atext(char c)
{
    return is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL);
}

/* The first c in s, or NULL (also for an empty s, whose ptr may be NULL). */
static const char *find(struct slice s, char c)
{
    return s.len ? memchr(s.ptr, c, s.len) : NULL;
}

static struct slice skip_spaces(struct slice s)
{
    while (s.len && s.ptr[0] == ' ') {
        s.ptr++;
        s.len--;
    }
    return s;
}

/* If s starts with word (any case), *rest is what follows it. */
static bool take_prefix(struct slice s, const char *word, struct slice *rest)
{
    size_t n = strlen(word);
    if (s.len < n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (lower(s.ptr[i]) != lower(word[i]))
            return false;
    }
    *rest = slice_make(s.ptr + n, s.len - n);
    return true;
}

static char *lower_dup(struct slice s)
{
    char *d = xstrndup(s.ptr, s.len);
    for (size_t i = 0; i < s.len; i++)
        d[i] = lower(d[i]);
    return d;
}

/* ---- paths ---- */

enum path_err { PATH_OK, PATH_SYNTAX, PATH_TOO_LONG };

struct path {
    struct slice address;       /* without brackets and source route; empty: <> */
    struct slice local, domain; /* domain empty for a bare "postmaster" */
    bool quoted;                /* the local part is a quoted string */
    struct slice params;        /* after the path: "" or " KEY=V ..." */
};

/* Index of the '>' closing a path that starts at in[0] == '<', or 0. */
static size_t path_end(struct slice in)
{
    bool quoted = false;
    for (size_t i = 1; i < in.len; i++) {
        char c = in.ptr[i];
        if (quoted && c == '\\' && i + 1 < in.len)
            i++;
        else if (c == '"')
            quoted = !quoted;
        else if (c == '>' && !quoted)
            return i;
    }
    return 0;
}

static bool local_ok(struct slice l, bool *quoted)
{
    *quoted = l.len >= 2 && l.ptr[0] == '"' && l.ptr[l.len - 1] == '"';
    if (l.len == 0)
        return false;
    for (size_t i = *quoted ? 1 : 0; i < (*quoted ? l.len - 1 : l.len); i++) {
        char c = l.ptr[i];
        if (*quoted ? (c < 32 || c > 126) : !is_dot_atext(c))
            return false;
        if (*quoted && c == '\\')
            i++;
    }
    return true;
}

static bool domain_ok(struct slice d)
{
    if (d.len == 0)
        return false;
    if (d.ptr[0] == '[') {      /* address literal: [192.0.2.1], [IPv6:...] */
        if (d.len < 3 || d.ptr[d.len - 1] != ']')
            return false;
        for (size_t i = 1; i + 1 < d.len; i++) {
            if (d.ptr[i] < 33 || d.ptr[i] > 126 || d.ptr[i] == '[' || d.ptr[i] == ']')
                return false;
        }
        return true;
    }
    for (size_t i = 0; i < d.len; i++) {
        char c = d.ptr[i];
        if (!is_alnum(c) && c != '-' && c != '.' && c != '_')
            return false;
        if (c == '.' && (i == 0 || d.ptr[i - 1] == '.'))
            return false;
    }
    return true;
}

/* Parses "<path> params", "path params" or "<> params". */
static enum path_err parse_path(struct slice in, struct path *p)
{
    memset(p, 0, sizeof(*p));
    in = skip_spaces(in);
    struct slice inner;
    if (in.len && in.ptr[0] == '<') {
        size_t end = path_end(in);
        if (!end)
            return PATH_SYNTAX;
        if (end + 1 > SMTP_MAX_PATH)
            return PATH_TOO_LONG;
        inner = slice_make(in.ptr + 1, end - 1);
        p->params = slice_make(in.ptr + end + 1, in.len - end - 1);
    } else {
        const char *sp = find(in, ' ');
        size_t n = sp ? (size_t)(sp - in.ptr) : in.len;
        if (n == 0)
            return PATH_SYNTAX;
        if (n + 2 > SMTP_MAX_PATH)
            return PATH_TOO_LONG;
        inner = slice_make(in.ptr, n);
        p->params = slice_make(in.ptr + n, in.len - n);
    }
    if (p->params.len && p->params.ptr[0] != ' ')
        return PATH_SYNTAX;
    if (inner.len && inner.ptr[0] == '@') {     /* source route: ignored (RFC 5321 C) */
        const char *colon = find(inner, ':');
        if (!colon)
            return PATH_SYNTAX;
        inner = slice_make(colon + 1, inner.len - (size_t)(colon + 1 - inner.ptr));
    }
    p->address = inner;
    if (inner.len == 0)
        return PATH_OK;
    size_t at = inner.len;      /* the last '@' outside a quoted local part */
    bool quoted = false;
    for (size_t i = 0; i < inner.len; i++) {
        char c = inner.ptr[i];
        if (quoted && c == '\\')
            i++;
        else if (c == '"')
            quoted = !quoted;
        else if (c == '@' && !quoted)
            at = i;
    }
    if (at == inner.len) {      /* no domain: only "postmaster" may do that */
        if (!slice_eq_nocase(inner, "postmaster"))
            return PATH_SYNTAX;
        p->local = inner;
        return PATH_OK;
    }
    p->local = slice_make(inner.ptr, at);
    p->domain = slice_make(inner.ptr + at + 1, inner.len - at - 1);
    if (!local_ok(p->local, &p->quoted) || !domain_ok(p->domain))
        return PATH_SYNTAX;
    return PATH_OK;
}

/* One of our report domains? Any case, a trailing dot ignored. */
static bool domain_is_ours(const struct smtp_proto_config *cfg, struct slice d)
{
    if (d.len && d.ptr[d.len - 1] == '.')
        d.len--;
    for (size_t i = 0; i < cfg->ndomains; i++) {
        if (slice_eq_nocase(d, cfg->domains[i]))
            return true;
    }
    return false;
}

/* ---- commands ---- */

static void cmd_helo(struct smtp_session *s, struct slice verb, struct slice arg)
{
    bool lmtp = s->cfg->protocol == SMTP_PROTOCOL_LMTP;
    bool is_lhlo = slice_eq_nocase(verb, "LHLO");
    if (lmtp != is_lhlo) {
        refuse(s, lmtp ? "500 5.5.1 this is an LMTP server: use LHLO"
                       : "500 5.5.1 command not recognized");
        return;
    }
    arg = slice_trim(arg);
    const char *sp = find(arg, ' ');
    if (sp)                     /* the domain; any greeting text after it is ignored */
        arg.len = (size_t)(sp - arg.ptr);
    if (arg.len == 0) {
        replyf(s, "501 5.5.4 %.*s needs a domain or address literal", (int)verb.len, verb.ptr);
        s->errors++;
        return;
    }
    size_t n = arg.len < SMTP_MAX_HELO ? arg.len : SMTP_MAX_HELO;
    for (size_t i = 0; i < n; i++) {
        char c = arg.ptr[i];
        s->helo[i] = c > 32 && c < 127 ? c : '?';
    }
    s->helo[n] = '\0';
    transaction_reset(s);       /* EHLO/HELO in a transaction acts as RSET */
    s->helo_done = true;
    s->esmtp = !slice_eq_nocase(verb, "HELO");
    if (!s->esmtp) {
        replyf(s, "250 %s", s->cfg->hostname);
        return;
    }
    replyf(s, "250-%s hello %s", s->cfg->hostname, s->helo);
    reply(s, "250-PIPELINING");
    replyf(s, "250-SIZE %zu", s->cfg->max_message_bytes);
    reply(s, "250-8BITMIME");
    if (s->cfg->tls_available && !s->tls)
        reply(s, "250-STARTTLS");
    reply(s, "250 ENHANCEDSTATUSCODES");
}

/* Checks MAIL parameters: SIZE= and BODY=; false when a reply was given. */
static bool mail_params_ok(struct smtp_session *s, struct slice params)
{
    struct slice rest = skip_spaces(params), item;
    while (rest.len) {
        bool more = slice_split(rest, ' ', &item, &rest);
        struct slice key, value;
        bool has_value = slice_split(item, '=', &key, &value);
        if (!s->esmtp) {
            refuse(s, "555 5.5.4 MAIL parameters need EHLO");
            return false;
        }
        if (slice_eq_nocase(key, "SIZE") && has_value) {
            int64_t n = 0;
            bool digits = value.len > 0 && value.len <= 20;
            for (size_t i = 0; digits && i < value.len; i++)
                digits = value.ptr[i] >= '0' && value.ptr[i] <= '9';
            if (!digits) {
                refuse(s, "501 5.5.4 bad SIZE parameter");
                return false;
            }
            if (!slice_to_i64(value, &n))
                n = INT64_MAX;  /* 20 digits past int64: certainly too big */
            if ((uint64_t)n > s->cfg->max_message_bytes) {
                replyf(s, "552 5.3.4 message size exceeds fixed maximum message size (%zu)",
                       s->cfg->max_message_bytes);
                return false;
            }
        } else if (slice_eq_nocase(key, "BODY") && has_value &&
                   (slice_eq_nocase(value, "7BIT") || slice_eq_nocase(value, "8BITMIME"))) {
            /* both are stored as they come */
        } else {
            replyf(s, "555 5.5.4 unsupported MAIL parameter %.*s",
                   (int)(key.len < 32 ? key.len : 32), key.ptr);
            s->errors++;
            return false;
        }
        if (!more)
            break;
        rest = skip_spaces(rest);
    }
    return true;
}

static void cmd_mail(struct smtp_session *s, struct slice arg)
{
    struct slice rest;
    struct path p;
    if (!s->helo_done) {
        refuse(s, s->cfg->protocol == SMTP_PROTOCOL_LMTP ? "503 5.5.1 send LHLO first"
                                                         : "503 5.5.1 send EHLO or HELO first");
        return;
    }
    if (s->have_mail) {
        refuse(s, "503 5.5.1 nested MAIL command");
        return;
    }
    if (!take_prefix(arg, "FROM:", &rest)) {
        refuse(s, "501 5.5.4 syntax: MAIL FROM:<address>");
        return;
    }
    enum path_err pe = parse_path(rest, &p);
    if (pe != PATH_OK) {
        refuse(s, pe == PATH_TOO_LONG ? "501 5.1.7 sender address too long"
                                      : "501 5.1.7 bad sender address syntax");
        return;
    }
    if (p.address.len && !p.domain.len) {
        refuse(s, "501 5.1.7 bad sender address syntax");
        return;
    }
    if (!mail_params_ok(s, p.params))
        return;
    strbuf_reset(&s->mail_from);
    if (strbuf_addslice(&s->mail_from, p.address))
        dmarcd_die("smtp: sender longer than its checked bound");
    s->have_mail = true;
    reply(s, "250 2.1.0 Ok");
}

static void rcpt_add(struct smtp_session *s, const struct path *p)
{
    if (s->nrcpts == s->rcpts_alloc) {
        s->rcpts_alloc = s->rcpts_alloc ? s->rcpts_alloc * 2 : 4;
        s->rcpts = xreallocarray(s->rcpts, s->rcpts_alloc, sizeof(*s->rcpts));
    }
    struct smtp_rcpt *r = &s->rcpts[s->nrcpts++];
    r->address = xstrndup(p->address.ptr, p->address.len);
    r->tag = r->base = NULL;
    if (p->quoted || p->domain.len == 0)
        return;
    struct slice base, tag;
    if (slice_split(p->local, '+', &base, &tag) && tag.len)
        r->tag = lower_dup(tag);
    if (base.len)
        r->base = lower_dup(base);
}

static void cmd_rcpt(struct smtp_session *s, struct slice arg)
{
    struct slice rest;
    struct path p;
    if (!s->have_mail) {
        refuse(s, "503 5.5.1 need MAIL before RCPT");
        return;
    }
    if (!take_prefix(arg, "TO:", &rest)) {
        refuse(s, "501 5.5.4 syntax: RCPT TO:<address>");
        return;
    }
    enum path_err pe = parse_path(rest, &p);
    if (pe != PATH_OK || p.address.len == 0) {
        refuse(s, pe == PATH_TOO_LONG ? "501 5.1.3 recipient address too long"
                                      : "501 5.1.3 bad recipient address syntax");
        return;
    }
    if (skip_spaces(p.params).len) {
        refuse(s, "555 5.5.4 RCPT parameters are not supported");
        return;
    }
    if (p.domain.len && !domain_is_ours(s->cfg, p.domain)) {
        refuse(s, "550 5.7.1 relay access denied: not a report address of this server");
        return;
    }
    if (s->nrcpts >= s->cfg->max_recipients) {
        reply(s, "452 4.5.3 too many recipients");
        return;
    }
    rcpt_add(s, &p);
    reply(s, "250 2.1.5 Ok");
}

static void cmd_data(struct smtp_session *s, struct slice arg)
{
    if (slice_trim(arg).len) {
        refuse(s, "501 5.5.4 DATA takes no arguments");
        return;
    }
    if (!s->have_mail || s->nrcpts == 0) {
        refuse(s, s->have_mail ? "503 5.5.1 need RCPT before DATA"
                               : "503 5.5.1 need MAIL and RCPT before DATA");
        return;
    }
    strbuf_release(&s->msg);
    strbuf_init(&s->msg, 0);
    s->seen = 0;
    s->line_len = 0;
    s->dstate = D_LINE_START;
    s->discard = KEEP;
    s->mode = MODE_DATA;
    reply(s, "354 end data with <CR><LF>.<CR><LF>");
}

static void cmd_starttls(struct smtp_session *s, struct slice arg, enum smtp_event *ev)
{
    if (!s->cfg->tls_available) {
        refuse(s, "502 5.5.1 STARTTLS not available");
    } else if (s->tls) {
        refuse(s, "503 5.5.1 TLS already active");
    } else if (slice_trim(arg).len) {
        refuse(s, "501 5.5.4 STARTTLS takes no arguments");
    } else {
        reply(s, "220 2.0.0 ready to start TLS");
        s->mode = MODE_TLS;
        *ev = SMTP_EVENT_STARTTLS;
    }
}

/* One command line, CRLF removed. */
static void command(struct smtp_session *s, struct slice line, enum smtp_event *ev)
{
    if (find(line, '\0')) {
        refuse(s, "500 5.5.2 syntax error: NUL byte in command");
        return;
    }
    struct slice verb, arg;
    slice_split(line, ' ', &verb, &arg);
    if (slice_eq_nocase(verb, "EHLO") || slice_eq_nocase(verb, "HELO") ||
        slice_eq_nocase(verb, "LHLO")) {
        cmd_helo(s, verb, arg);
    } else if (slice_eq_nocase(verb, "MAIL")) {
        cmd_mail(s, arg);
    } else if (slice_eq_nocase(verb, "RCPT")) {
        cmd_rcpt(s, arg);
    } else if (slice_eq_nocase(verb, "DATA")) {
        cmd_data(s, arg);
    } else if (slice_eq_nocase(verb, "RSET")) {
        if (slice_trim(arg).len) {
            refuse(s, "501 5.5.4 RSET takes no arguments");
            return;
        }
        transaction_reset(s);
        reply(s, "250 2.0.0 Ok");
    } else if (slice_eq_nocase(verb, "NOOP")) {
        reply(s, "250 2.0.0 Ok");
    } else if (slice_eq_nocase(verb, "QUIT")) {
        replyf(s, "221 2.0.0 %s closing connection", s->cfg->hostname);
        s->mode = MODE_CLOSED;
    } else if (slice_eq_nocase(verb, "VRFY")) {
        reply(s, "252 2.5.2 cannot VRFY user, but will accept message for report addresses");
    } else if (slice_eq_nocase(verb, "EXPN")) {
        refuse(s, "502 5.5.1 EXPN not available");
    } else if (slice_eq_nocase(verb, "HELP")) {
        reply(s, "214 2.0.0 dmarcd accepts DMARC and TLS reports; see RFC 5321");
    } else if (slice_eq_nocase(verb, "STARTTLS")) {
        cmd_starttls(s, arg, ev);
    } else {
        refuse(s, "500 5.5.1 command not recognized");
    }
}

/* ---- DATA ---- */

/* Message text after unstuffing: kept, or counted while dropping. */
static void text(struct smtp_session *s, const char *p, size_t n)
{
    s->seen += n;
    if (s->discard != KEEP)
        return;
    if (s->seen > s->cfg->max_message_bytes) {
        s->discard = DROP_TOO_BIG;
        strbuf_release(&s->msg);
        strbuf_init(&s->msg, 0);
        return;
    }
    strbuf_add(&s->msg, p, n);
}

static void line_grew(struct smtp_session *s, size_t n)
{
    s->line_len += n;
    if (s->line_len + 2 > SMTP_MAX_DATA_LINE && s->discard == KEEP) {
        s->discard = DROP_LONG_LINE;
        strbuf_release(&s->msg);
        strbuf_init(&s->msg, 0);
    }
}

/* Runs the text machine over p[0..len); true when the end marker was read. */
static bool data_scan(struct smtp_session *s, const char *p, size_t len, size_t *used)
{
    size_t i = 0;
    while (i < len) {
        char c = p[i];
        switch (s->dstate) {
        case D_LINE_START:
            s->line_len = 0;
            if (c == '.') {
                s->dstate = D_DOT;
                i++;
            } else {
                s->dstate = D_MID;
            }
            break;
        case D_MID: {
            const char *cr = memchr(p + i, '\r', len - i);
            size_t run = cr ? (size_t)(cr - (p + i)) : len - i;
            if (run == 0) {
                run = 1;
                s->dstate = D_CR;
            }
            text(s, p + i, run);
            line_grew(s, run);
            i += run;
            break;
        }
        case D_CR:
            if (c == '\n') {
                text(s, "\n", 1);
                s->dstate = D_LINE_START;
                i++;
            } else {
                s->dstate = D_MID;      /* a bare CR: kept, ends nothing */
            }
            break;
        case D_DOT:
            if (c == '\r') {
                s->dstate = D_DOT_CR;
                i++;
            } else {
                s->line_len = 1;        /* a stuffing dot: dropped */
                s->dstate = D_MID;
            }
            break;
        case D_DOT_CR:
            if (c == '\n') {
                *used = i + 1;
                return true;
            }
            text(s, "\r", 1);           /* ".\r" then more: the dot was stuffing */
            line_grew(s, 1);
            s->dstate = D_CR;
            break;
        }
    }
    *used = i;
    return false;
}

static void data_ended(struct smtp_session *s, enum smtp_event *ev)
{
    switch (s->discard) {
    case KEEP:
        s->mode = MODE_DELIVERING;
        *ev = SMTP_EVENT_MESSAGE;
        return;
    case DROP_TOO_BIG:
        replyf(s, "552 5.3.4 message size exceeds fixed maximum message size (%zu)",
               s->cfg->max_message_bytes);
        break;
    case DROP_LONG_LINE:
        replyf(s, "500 5.5.2 message has a line longer than %d bytes", SMTP_MAX_DATA_LINE);
        break;
    case DROP_OUTCOME:
        s->mode = MODE_DELIVERING;
        smtp_session_delivered(s, s->drop_outcome, NULL);
        return;
    }
    transaction_reset(s);
    s->mode = MODE_COMMAND;
}

static size_t data_feed(struct smtp_session *s, const char *p, size_t len, enum smtp_event *ev)
{
    size_t used = 0;
    bool ended = data_scan(s, p, len, &used);
    if (ended) {
        data_ended(s, ev);
    } else if (s->seen > 2 * s->cfg->max_message_bytes) {
        replyf(s, "552 5.3.4 message far exceeds the maximum size (%zu), closing connection",
               s->cfg->max_message_bytes);
        transaction_reset(s);
        s->mode = MODE_CLOSED;
        *ev = SMTP_EVENT_CLOSE;
    }
    return used;
}

void smtp_session_abort_data(struct smtp_session *s, enum smtp_outcome outcome)
{
    if (s->mode != MODE_DATA || s->discard != KEEP)
        return;
    s->discard = DROP_OUTCOME;
    s->drop_outcome = outcome;
    strbuf_release(&s->msg);
    strbuf_init(&s->msg, 0);
}

/* ---- input ---- */

/* Command mode: gathers one line; true when s->line holds a whole one. */
static bool line_feed(struct smtp_session *s, const char *p, size_t len, size_t *used)
{
    const char *lf = memchr(p, '\n', len);
    size_t n = lf ? (size_t)(lf - p) : len;
    *used = lf ? n + 1 : n;
    if (!s->line_overflow && strbuf_add(&s->line, p, n))
        s->line_overflow = true;
    return lf != NULL;
}

size_t smtp_session_feed(struct smtp_session *s, const void *buf, size_t len,
                         enum smtp_event *ev)
{
    const char *p = buf;
    size_t done = 0, used;
    *ev = SMTP_EVENT_NONE;
    while (done < len && *ev == SMTP_EVENT_NONE) {
        if (s->mode == MODE_DATA) {
            done += data_feed(s, p + done, len - done, ev);
            continue;
        }
        if (s->mode != MODE_COMMAND)
            break;
        bool whole = line_feed(s, p + done, len - done, &used);
        done += used;
        if (!whole)
            continue;
        if (s->line_overflow) {
            refuse(s, "500 5.5.2 line too long");
        } else {
            struct slice line = strbuf_slice(&s->line);
            if (line.len && line.ptr[line.len - 1] == '\r')
                line.len--;
            /* the line's CRLF counts toward the limit as well */
            if (line.len + 2 > SMTP_MAX_COMMAND_LINE)
                refuse(s, "500 5.5.2 line too long");
            else
                command(s, line, ev);
        }
        strbuf_reset(&s->line);
        s->line_overflow = false;
    }
    if (s->mode == MODE_CLOSED)
        *ev = SMTP_EVENT_CLOSE;
    return done;
}

/* ---- delivery ---- */

void smtp_session_message(const struct smtp_session *s, struct smtp_message *m)
{
    m->helo = s->helo;
    m->mail_from = s->mail_from.buf;
    m->rcpts = s->rcpts;
    m->nrcpts = s->nrcpts;
    m->data = (const uint8_t *)s->msg.buf;
    m->len = s->msg.len;
    m->tls = s->tls;
}

static void outcome_reply(struct smtp_session *s, enum smtp_outcome outcome, const char *detail,
                          const char *rcpt)
{
    const char *sep = rcpt ? " " : "";
    rcpt = rcpt ? rcpt : "";
    switch (outcome) {
    case SMTP_OUTCOME_STORED:
        replyf(s, "250 2.0.0 %s%sOk%s%s", rcpt, sep, detail ? ": " : "", detail ? detail : "");
        break;
    case SMTP_OUTCOME_TEMPFAIL:
        replyf(s, "451 4.3.0 %s%stemporary failure storing the message, try again later",
               rcpt, sep);
        break;
    case SMTP_OUTCOME_NO_SPACE:
        replyf(s, "452 4.3.1 %s%sinsufficient system storage, try again later", rcpt, sep);
        break;
    case SMTP_OUTCOME_TOO_BIG:
        replyf(s, "552 5.3.4 %s%smessage size exceeds fixed maximum message size (%zu)", rcpt,
               sep, s->cfg->max_message_bytes);
        break;
    }
}

void smtp_session_delivered(struct smtp_session *s, enum smtp_outcome outcome,
                            const char *detail)
{
    if (s->mode != MODE_DELIVERING)
        return;
    if (s->cfg->protocol == SMTP_PROTOCOL_LMTP) {
        /* RFC 2033 4.2: one reply per accepted recipient, in order */
        for (size_t i = 0; i < s->nrcpts; i++) {
            char addr[SMTP_MAX_PATH + 3];
            snprintf(addr, sizeof(addr), "<%s>", s->rcpts[i].address);
            outcome_reply(s, outcome, detail, addr);
        }
    } else {
        outcome_reply(s, outcome, detail, NULL);
    }
    transaction_reset(s);
    s->mode = MODE_COMMAND;
}

void smtp_session_tls_started(struct smtp_session *s)
{
    if (s->mode != MODE_TLS)
        return;
    transaction_reset(s);
    s->helo_done = false;
    s->esmtp = false;
    s->helo[0] = '\0';
    s->tls = true;
    s->mode = MODE_COMMAND;
    strbuf_reset(&s->line);
    s->line_overflow = false;
}
