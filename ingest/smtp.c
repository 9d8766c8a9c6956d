/*
 * smtp.c - the listener of `dmarcd smtp` (see smtp.h for what it
 * guarantees): the accept loop, one thread per connection running the
 * dialogue of smtp_proto.h over a socket (plain or STARTTLS), and the
 * delivery of each finished message into the inbox through a small pool
 * of database and Redis connections.
 *
 * Waiting. A connection thread waits for input with poll() on its socket
 * and, while it has no transaction in progress, on the stop pipe as well,
 * so SIGTERM closes idle sessions at once. Each wait is bounded by the
 * idle timeout and, once stopping, by the shutdown deadline. Socket
 * timeouts (SO_RCVTIMEO/SO_SNDTIMEO, the same idle timeout) bound what
 * poll cannot see: a TLS record that arrives half, a client that stops
 * reading our replies.
 *
 * Memory. Message text lives in the session until it is stored; each
 * thread accounts what its session holds against the server's budget
 * after every chunk it feeds, and a session that would pass it has its
 * message dropped and answered 452 4.3.1 at its end.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "ingest/queue.h"
#include "ingest/smtp.h"
#include "ingest/smtp_tls.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "storage/inbox.h"
#include "storage/store.h"
#include "storage/tenants.h"
#include "lib/banned.h"

#define READ_CHUNK (64 * 1024)          /* bytes read from a socket at once */
#define THREAD_STACK (1024 * 1024)
#define SLOT_WAIT_MS 60000              /* longest a message waits for a database slot */
#define QUEUE_RETRY_MS 5000             /* between attempts to reach Redis after a failure */
#define TENANT_MISS_MS 5000             /* re-read tenant names on a miss, at most this often */
#define TENANT_TTL_MS 60000             /* and always after this long */
#define DRAIN_EXTRA_MS 5000             /* after the shutdown deadline, for stores in flight */
#define LISTEN_BACKLOG 128

struct slot {
    struct store *st;               /* NULL: not open (yet, or since a failure) */
    struct queue *q;
    long long queue_retry_at;       /* monotonic ms; do not try Redis before */
    bool busy;
};

struct tenant_entry {
    char *name;
    uint32_t id;
};

struct smtp_server {
    struct smtp_server_options o;   /* the pointers below are our own copies */
    char *listen, *queue_prefix;
    char hostname[256];
    char **domains;
    size_t ndomains;
    struct smtp_proto_config proto;
    struct smtp_tls *tls;
    int listen_fd;
    int stop_pipe[2];
    atomic_bool stopping;
    atomic_llong deadline_ms;       /* monotonic; 0 until the acceptor saw the stop */

    pthread_mutex_t lock;           /* guards the fields up to the next blank line */
    pthread_cond_t changed;         /* a connection ended, a slot came free */
    unsigned active;
    size_t mem_used;
    struct slot *slots;

    pthread_mutex_t tenant_lock;
    struct tenant_entry *tenants;   /* active tenants, by name */
    size_t ntenants;
    long long tenants_at;           /* when last read (monotonic ms) */

    atomic_ullong n_connections, n_busy, n_stored, n_duplicates, n_tempfail, n_timeouts;
    bool leaked;                    /* threads outlived the drain: keep shared state */
};

struct conn {
    struct smtp_server *srv;
    int fd;
    char peer[64];
    struct smtp_tls_conn *tls;
    struct smtp_session *s;
    size_t reserved;                /* bytes of the memory budget held */
    size_t off, len;                /* unread input: buf[off..len) */
    char buf[READ_CHUNK];
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- tenants ---- */

static int tenant_cmp(const void *a, const void *b)
{
    return strcmp(((const struct tenant_entry *)a)->name, ((const struct tenant_entry *)b)->name);
}

static void tenants_clear(struct smtp_server *srv)
{
    for (size_t i = 0; i < srv->ntenants; i++)
        free(srv->tenants[i].name);
    free(srv->tenants);
    srv->tenants = NULL;
    srv->ntenants = 0;
}

/* Reads the active tenants' names; the old list stays on failure. Locked. */
static enum dmarcd_err tenants_reload(struct smtp_server *srv, struct store *st)
{
    struct tenant_infos list;
    srv->tenants_at = now_ms();
    enum dmarcd_err rc = tenant_list(st, &list);
    if (rc)
        return rc;
    tenants_clear(srv);
    srv->tenants = xcalloc(list.count ? list.count : 1, sizeof(*srv->tenants));
    for (size_t i = 0; i < list.count; i++) {
        if (strcmp(list.items[i].status, "active") != 0)
            continue;
        srv->tenants[srv->ntenants].name = xstrdup(list.items[i].name);
        srv->tenants[srv->ntenants++].id = list.items[i].id;
    }
    qsort(srv->tenants, srv->ntenants, sizeof(*srv->tenants), tenant_cmp);
    tenant_infos_release(&list);
    return DMARCD_OK;
}

static int tenant_key_cmp(const void *key, const void *entry)
{
    return strcmp(key, ((const struct tenant_entry *)entry)->name);
}

static uint32_t tenant_find(const struct smtp_server *srv, const char *name)
{
    if (!name || !srv->ntenants)
        return 0;
    const struct tenant_entry *e =
        bsearch(name, srv->tenants, srv->ntenants, sizeof(*srv->tenants), tenant_key_cmp);
    return e ? e->id : 0;
}

/*
 * The tenant the recipients name (smtp.h, Routing): the tag, else the
 * base, of each; 0 when none does or two name different tenants.
 */
static uint32_t route(struct smtp_server *srv, struct store *st, const struct smtp_message *m)
{
    bool any = false;
    for (size_t i = 0; i < m->nrcpts; i++)
        any = any || m->rcpts[i].tag || m->rcpts[i].base;
    if (!any)
        return 0;
    uint32_t tenant = 0;
    bool conflict = false;
    pthread_mutex_lock(&srv->tenant_lock);
    bool reload = now_ms() - srv->tenants_at > TENANT_TTL_MS;
    for (int pass = 0; pass < 2; pass++) {
        if (reload && tenants_reload(srv, st))
            log_warn("smtp tenant names not re-read; routing with the old list");
        bool miss = false;
        tenant = 0;
        conflict = false;
        for (size_t i = 0; i < m->nrcpts; i++) {
            uint32_t id = tenant_find(srv, m->rcpts[i].tag);
            if (!id)
                id = tenant_find(srv, m->rcpts[i].base);
            if (!id)
                miss = miss || m->rcpts[i].tag || m->rcpts[i].base;
            else if (tenant && tenant != id)
                conflict = true;
            else
                tenant = id;
        }
        if (!miss || reload || now_ms() - srv->tenants_at < TENANT_MISS_MS)
            break;
        reload = true;
    }
    pthread_mutex_unlock(&srv->tenant_lock);
    return conflict ? 0 : tenant;
}

/* ---- the pool of database and Redis connections ---- */

static struct slot *slot_get(struct smtp_server *srv)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += SLOT_WAIT_MS / 1000;
    pthread_mutex_lock(&srv->lock);
    for (;;) {
        for (unsigned i = 0; i < srv->o.db_connections; i++) {
            if (!srv->slots[i].busy) {
                srv->slots[i].busy = true;
                pthread_mutex_unlock(&srv->lock);
                return &srv->slots[i];
            }
        }
        if (pthread_cond_timedwait(&srv->changed, &srv->lock, &until) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&srv->lock);
    return NULL;
}

static void slot_put(struct smtp_server *srv, struct slot *slot)
{
    pthread_mutex_lock(&srv->lock);
    slot->busy = false;
    pthread_cond_broadcast(&srv->changed);
    pthread_mutex_unlock(&srv->lock);
}

/* Opens the slot's store if it has none; one quick attempt (the client retries). */
static enum dmarcd_err slot_store(struct smtp_server *srv, struct slot *slot)
{
    if (slot->st)
        return DMARCD_OK;
    struct store_options so;
    struct strbuf why;
    store_options_default(&so);
    so.connect_attempts = 1;
    so.connect_timeout_s = 3;
    so.read_timeout_s = 30;
    so.write_timeout_s = 30;
    strbuf_init(&why, 0);
    enum dmarcd_err rc = store_open_opts(srv->o.db, &so, &slot->st, &why);
    if (rc)
        log_warn("smtp cannot reach the database", LOG_ERR(rc), LOG_STR("why", why.buf));
    strbuf_release(&why);
    return rc;
}

/* Queues inbox row id; failures are logged, never fatal (the reconciler). */
static void slot_push(struct smtp_server *srv, struct slot *slot, uint64_t id)
{
    if (!slot->q) {
        if (now_ms() < slot->queue_retry_at) {
            log_debug("smtp queue unavailable, job left to the reconciler", LOG_UINT("inbox", id));
            return;
        }
        struct queue_options o;
        struct strbuf why;
        queue_options_default(&o);
        o.prefix = srv->queue_prefix;
        o.client_name = "dmarcd-smtp";
        o.connect_attempts = 1;
        o.connect_timeout_ms = 1000;
        o.command_timeout_ms = 3000;
        strbuf_init(&why, 0);
        enum dmarcd_err rc = queue_open(srv->o.redis, &o, &slot->q, &why);
        if (rc) {
            log_warn("smtp cannot reach redis; the reconciler will queue the message",
                     LOG_UINT("inbox", id), LOG_ERR(rc), LOG_STR("why", why.buf));
            slot->queue_retry_at = now_ms() + QUEUE_RETRY_MS;
        }
        strbuf_release(&why);
        if (rc)
            return;
    }
    enum dmarcd_err rc = queue_push(slot->q, id);
    if (rc) {
        log_warn("smtp queue push failed; the reconciler will queue the message",
                 LOG_UINT("inbox", id), LOG_ERR(rc));
        queue_close(slot->q);
        slot->q = NULL;
        slot->queue_retry_at = now_ms() + QUEUE_RETRY_MS;
    }
}

/* ---- one connection ---- */

static bool conn_write(struct conn *c, const char *p, size_t n)
{
    if (c->tls)
        return smtp_tls_write(c->tls, p, n) == DMARCD_OK;
    while (n) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static bool flush(struct conn *c)
{
    struct slice out = smtp_session_output(c->s);
    bool ok = out.len == 0 || conn_write(c, out.ptr, out.len);
    smtp_session_output_clear(c->s);
    return ok;
}

enum wait { WAIT_READY, WAIT_TIMEOUT, WAIT_STOP, WAIT_ERROR };

/* Waits for input (smtp.c header: Waiting). */
static enum wait wait_input(struct conn *c)
{
    struct smtp_server *srv = c->srv;
    if (c->tls && smtp_tls_pending(c->tls))
        return WAIT_READY;
    long long idle_until = now_ms() + (long long)srv->o.timeout_s * 1000;
    for (;;) {
        long long now = now_ms(), until = idle_until;
        bool stopping = atomic_load(&srv->stopping);
        if (stopping) {
            long long deadline = atomic_load(&srv->deadline_ms);
            if (!smtp_session_in_transaction(c->s) || (deadline && now >= deadline))
                return WAIT_STOP;
            /* the acceptor sets the deadline right after the stop: look again soon */
            long long next = deadline ? deadline : now + 50;
            until = next < until ? next : until;
        }
        if (now >= idle_until)
            return WAIT_TIMEOUT;
        struct pollfd p[2] = { { .fd = c->fd, .events = POLLIN },
                               { .fd = srv->stop_pipe[0], .events = POLLIN } };
        int n = poll(p, stopping ? 1 : 2, (int)(until - now));
        if (n < 0 && errno != EINTR)
            return WAIT_ERROR;
        if (n > 0 && p[0].revents)
            return WAIT_READY;
    }
}

/* > 0 bytes, 0 closed by the client, -1 error or socket timeout. */
static ssize_t conn_read(struct conn *c)
{
    if (c->tls)
        return smtp_tls_read(c->tls, c->buf, sizeof(c->buf));
    for (;;) {
        ssize_t n = recv(c->fd, c->buf, sizeof(c->buf), 0);
        if (n >= 0 || errno != EINTR)
            return n;
    }
}

/* Keeps the server's memory budget in step with the session's message. */
static void budget_sync(struct conn *c)
{
    struct smtp_server *srv = c->srv;
    size_t want = smtp_session_data_len(c->s);
    if (want == c->reserved)
        return;
    pthread_mutex_lock(&srv->lock);
    if (want > c->reserved && srv->mem_used + (want - c->reserved) > srv->o.memory_limit) {
        pthread_mutex_unlock(&srv->lock);
        smtp_session_abort_data(c->s, SMTP_OUTCOME_NO_SPACE);
        log_warn("smtp memory limit reached; message refused for now (452)",
                 LOG_STR("client", c->peer), LOG_UINT("limit", srv->o.memory_limit));
        want = smtp_session_data_len(c->s);
        pthread_mutex_lock(&srv->lock);
    }
    srv->mem_used = srv->mem_used - c->reserved + want;
    c->reserved = want;
    pthread_mutex_unlock(&srv->lock);
}

/* "smtp 192.0.2.1 helo=mx.example from=<a@b.example> tls=TLS1.3" */
static void origin_of(struct conn *c, const struct smtp_message *m, struct strbuf *out)
{
    (void)strbuf_addf(out, "smtp %s helo=%s from=<%s>", c->peer, m->helo, m->mail_from);
    if (c->tls)
        (void)strbuf_addf(out, " tls=%s", smtp_tls_version(c->tls));
}

/* Stores the finished message, queues it, and answers (smtp.h: Durable first). */
static void deliver(struct conn *c)
{
    struct smtp_server *srv = c->srv;
    struct smtp_message m;
    struct strbuf origin;
    uint64_t id = 0;
    uint32_t tenant = 0;
    bool duplicate = false;
    enum dmarcd_err rc = DMARCD_E_TIMEOUT;
    long long t0 = now_ms();

    smtp_session_message(c->s, &m);
    strbuf_init(&origin, 0);
    origin_of(c, &m, &origin);
    struct slot *slot = slot_get(srv);
    if (slot) {
        rc = slot_store(srv, slot);
        if (!rc) {
            tenant = route(srv, slot->st, &m);
            rc = inbox_put(slot->st, m.data, m.len, INBOX_SOURCE_SMTP, origin.buf, tenant, &id,
                           &duplicate);
            if (rc == DMARCD_E_DB_UNAVAILABLE) {
                store_close(slot->st);
                slot->st = NULL;
            }
        }
        if (!rc && !duplicate)
            slot_push(srv, slot, id);
        slot_put(srv, slot);
    }

    char detail[64];
    if (!rc) {
        atomic_fetch_add(duplicate ? &srv->n_duplicates : &srv->n_stored, 1);
        snprintf(detail, sizeof(detail), "%s as %" PRIu64, duplicate ? "already stored" : "stored",
                 id);
        log_info("smtp message stored", LOG_UINT("inbox", id), LOG_UINT("bytes", m.len),
                 LOG_UINT("tenant", tenant), LOG_INT("duplicate", duplicate),
                 LOG_UINT("rcpts", m.nrcpts), LOG_STR("client", c->peer),
                 LOG_INT("ms", now_ms() - t0));
        smtp_session_delivered(c->s, SMTP_OUTCOME_STORED, detail);
    } else {
        atomic_fetch_add(&srv->n_tempfail, 1);
        log_warn("smtp message not stored; sender told to retry", LOG_ERR(rc),
                 LOG_UINT("bytes", m.len), LOG_STR("client", c->peer),
                 LOG_INT("ms", now_ms() - t0));
        smtp_session_delivered(c->s, rc == DMARCD_E_TOO_BIG ? SMTP_OUTCOME_TOO_BIG
                                                            : SMTP_OUTCOME_TEMPFAIL,
                               NULL);
    }
    strbuf_release(&origin);
}

static bool start_tls(struct conn *c)
{
    struct strbuf why;
    strbuf_init(&why, 0);
    enum dmarcd_err rc = smtp_tls_accept(c->srv->tls, c->fd, c->srv->o.timeout_s * 1000u,
                                         &c->tls, &why);
    if (rc)
        log_info("smtp starttls failed", LOG_STR("client", c->peer), LOG_STR("why", why.buf));
    else
        smtp_session_tls_started(c->s);
    strbuf_release(&why);
    return rc == DMARCD_OK;
}

/* Reads and answers until the session ends. */
static void serve(struct conn *c)
{
    enum smtp_event ev;
    smtp_session_greet(c->s);
    for (;;) {
        if (c->off == c->len) {
            if (!flush(c))
                return;
            enum wait w = wait_input(c);
            if (w == WAIT_TIMEOUT || w == WAIT_STOP) {
                if (w == WAIT_TIMEOUT) {
                    atomic_fetch_add(&c->srv->n_timeouts, 1);
                    log_info("smtp client timed out", LOG_STR("client", c->peer));
                    smtp_session_timeout(c->s);
                } else {
                    smtp_session_shutdown(c->s);
                }
                (void)flush(c);
                return;
            }
            ssize_t n = w == WAIT_READY ? conn_read(c) : -1;
            if (n <= 0)
                return;
            c->off = 0;
            c->len = (size_t)n;
        }
        c->off += smtp_session_feed(c->s, c->buf + c->off, c->len - c->off, &ev);
        budget_sync(c);
        if (ev == SMTP_EVENT_MESSAGE) {
            deliver(c);
            budget_sync(c);
        } else if (ev == SMTP_EVENT_STARTTLS) {
            if (!flush(c))
                return;
            c->off = c->len;        /* RFC 3207: nothing sent before the handshake counts */
            if (!start_tls(c))
                return;
        } else if (ev == SMTP_EVENT_CLOSE) {
            (void)flush(c);
            return;
        }
    }
}

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    struct smtp_server *srv = c->srv;
    c->s = smtp_session_new(&srv->proto);
    log_debug("smtp connection", LOG_STR("client", c->peer));
    serve(c);
    log_debug("smtp connection closed", LOG_STR("client", c->peer));
    smtp_session_free(c->s);
    smtp_tls_close(c->tls);
    close(c->fd);
    /* last: once active drops, the server may be freed */
    pthread_mutex_lock(&srv->lock);
    srv->mem_used -= c->reserved;
    srv->active--;
    pthread_cond_broadcast(&srv->changed);
    pthread_mutex_unlock(&srv->lock);
    free(c);
    return NULL;
}

/* ---- accepting ---- */

/* The client's address as text; IPv4-mapped IPv6 shown as IPv4. */
static void peer_name(const struct sockaddr_storage *ss, socklen_t len, char *out, size_t size)
{
    char host[NI_MAXHOST];
    if (getnameinfo((const struct sockaddr *)ss, len, host, sizeof(host), NULL, 0,
                    NI_NUMERICHOST) != 0) {
        snprintf(out, size, "unknown");
        return;
    }
    const char *h = strncmp(host, "::ffff:", 7) == 0 && strchr(host + 7, '.') ? host + 7 : host;
    snprintf(out, size, "%.63s", h);
}

static void refuse_busy(struct smtp_server *srv, int fd, const char *peer)
{
    char line[160];
    size_t n = smtp_reply_busy(srv->hostname, line, sizeof(line));
    (void)!send(fd, line, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    close(fd);
    atomic_fetch_add(&srv->n_busy, 1);
    log_info("smtp connection refused: too many connections", LOG_STR("client", peer),
             LOG_UINT("limit", srv->o.max_connections));
}

static void accept_one(struct smtp_server *srv, const pthread_attr_t *attr)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd = accept4(srv->listen_fd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            log_warn("smtp accept failed; pausing", LOG_STR("why", strerror(errno)));
            poll(NULL, 0, 100);
        }
        return;
    }
    char peer[64];
    peer_name(&ss, len, peer, sizeof(peer));
    pthread_mutex_lock(&srv->lock);
    bool full = srv->active >= srv->o.max_connections;
    if (!full)
        srv->active++;
    pthread_mutex_unlock(&srv->lock);
    if (full) {
        refuse_busy(srv, fd, peer);
        return;
    }
    struct timeval tv = { .tv_sec = (time_t)srv->o.timeout_s, .tv_usec = 0 };
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    struct conn *c = xcalloc(1, sizeof(*c));
    c->srv = srv;
    c->fd = fd;
    memcpy(c->peer, peer, sizeof(peer));
    atomic_fetch_add(&srv->n_connections, 1);
    pthread_t t;
    int err = pthread_create(&t, attr, conn_main, c);
    if (err) {
        free(c);
        pthread_mutex_lock(&srv->lock);
        srv->active--;
        pthread_mutex_unlock(&srv->lock);
        log_warn("smtp cannot start a connection thread", LOG_STR("why", strerror(err)));
        refuse_busy(srv, fd, peer);
    }
}

/* Waits for the connections to end: idle ones at once, busy ones by the deadline. */
static void drain(struct smtp_server *srv)
{
    long long deadline = now_ms() + (long long)srv->o.shutdown_timeout_s * 1000;
    atomic_store(&srv->deadline_ms, deadline);
    pthread_mutex_lock(&srv->lock);
    log_info("smtp stopping: no new connections", LOG_UINT("open", srv->active),
             LOG_UINT("deadline_s", srv->o.shutdown_timeout_s));
    while (srv->active > 0 && now_ms() < deadline + DRAIN_EXTRA_MS) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        (void)pthread_cond_timedwait(&srv->changed, &srv->lock, &ts);
    }
    if (srv->active > 0) {
        /* a thread stuck in a store or a write: no 250 was sent for what it
         * holds, so its sender retries; exiting is safe, freeing is not */
        log_warn("smtp connections still open at exit", LOG_UINT("open", srv->active));
        srv->leaked = true;
    }
    pthread_mutex_unlock(&srv->lock);
}

enum dmarcd_err smtp_server_run(struct smtp_server *srv)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, THREAD_STACK);
    log_info("smtp listening", LOG_STR("listen", srv->listen),
             LOG_STR("protocol", srv->o.protocol == SMTP_PROTOCOL_LMTP ? "lmtp" : "smtp"),
             LOG_STR("hostname", srv->hostname), LOG_UINT("domains", srv->ndomains),
             LOG_INT("starttls", srv->tls != NULL),
             LOG_UINT("max_connections", srv->o.max_connections),
             LOG_UINT("max_message_bytes", srv->o.max_message_bytes));
    while (!atomic_load(&srv->stopping)) {
        struct pollfd p[2] = { { .fd = srv->listen_fd, .events = POLLIN },
                               { .fd = srv->stop_pipe[0], .events = POLLIN } };
        int n = poll(p, 2, -1);
        if (n < 0 && errno != EINTR) {
            log_error("smtp poll failed", LOG_STR("why", strerror(errno)));
            atomic_store(&srv->stopping, true);
            break;
        }
        if (n > 0 && p[0].revents & POLLIN)
            accept_one(srv, &attr);
    }
    pthread_attr_destroy(&attr);
    close(srv->listen_fd);
    srv->listen_fd = -1;
    drain(srv);
    log_info("smtp stopped", LOG_UINT("connections", atomic_load(&srv->n_connections)),
             LOG_UINT("stored", atomic_load(&srv->n_stored)),
             LOG_UINT("duplicates", atomic_load(&srv->n_duplicates)),
             LOG_UINT("tempfail", atomic_load(&srv->n_tempfail)),
             LOG_UINT("busy", atomic_load(&srv->n_busy)),
             LOG_UINT("timeouts", atomic_load(&srv->n_timeouts)));
    return DMARCD_OK;
}

void smtp_server_stop(struct smtp_server *srv)
{
    atomic_store(&srv->stopping, true);
    char b = 1;
    (void)!write(srv->stop_pipe[1], &b, 1);
}

/* ---- setting up ---- */

/* Splits the comma-separated domains: lower case, no trailing dot. */
static void parse_domains(struct smtp_server *srv, const char *text)
{
    struct slice rest = slice_from_cstr(text ? text : ""), item;
    bool more = true;
    while (more) {
        more = slice_split(rest, ',', &item, &rest);
        item = slice_trim(item);
        if (item.len && item.ptr[item.len - 1] == '.')
            item.len--;
        if (!item.len)
            continue;
        srv->domains = xreallocarray(srv->domains, srv->ndomains + 1, sizeof(char *));
        char *d = xstrndup(item.ptr, item.len);
        for (char *p = d; *p; p++)
            *p = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
        srv->domains[srv->ndomains++] = d;
    }
}

static enum dmarcd_err bad_option(struct strbuf *why, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static enum dmarcd_err bad_option(struct strbuf *why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (why)
        (void)strbuf_vsetf(why, fmt, ap);
    va_end(ap);
    return DMARCD_E_CONFIG;
}

static enum dmarcd_err check_options(const struct smtp_server_options *o, struct strbuf *why)
{
    if (!o->tls_cert != !o->tls_key)
        return bad_option(why, "smtp_tls_cert and smtp_tls_key go together: set both or neither");
    if (o->max_message_bytes < 1024 || o->max_message_bytes > DMARCD_MAX_MESSAGE_BYTES)
        return bad_option(why, "smtp_max_message_bytes must be from 1024 to %zu",
                          (size_t)DMARCD_MAX_MESSAGE_BYTES);
    if (o->memory_limit < o->max_message_bytes)
        return bad_option(why, "smtp_memory_limit (%zu) is less than smtp_max_message_bytes "
                               "(%zu): no message could be received",
                          o->memory_limit, o->max_message_bytes);
    if (!o->max_recipients || !o->max_connections || !o->timeout_s || !o->db_connections)
        return bad_option(why, "smtp limits must be at least 1");
    if (!o->listen || !o->db || !o->redis)
        return bad_option(why, "smtp needs a listen address, a database and redis");
    if (!o->queue_prefix || !queue_name_valid(o->queue_prefix))
        return bad_option(why, "queue_prefix must be 1 to 64 printable characters without "
                               "spaces");
    return DMARCD_OK;
}

/* Binds and listens on "host:port". */
static enum dmarcd_err listen_on(struct smtp_server *srv, struct strbuf *why)
{
    char *host = NULL, port_text[16];
    unsigned port;
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV }, *res = NULL;
    enum dmarcd_err rc = hostport_parse(srv->listen, &host, &port, why);
    if (rc)
        return DMARCD_E_CONFIG;
    snprintf(port_text, sizeof(port_text), "%u", port);
    int gai = getaddrinfo(host, port_text, &hints, &res);
    if (gai) {
        (void)strbuf_setf(why, "cannot resolve %s: %s", host, gai_strerror(gai));
        free(host);
        return DMARCD_E_CONFIG;
    }
    int err = 0;
    for (struct addrinfo *a = res; a && srv->listen_fd < 0; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1, zero = 0;
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (a->ai_family == AF_INET6)       /* "::" takes IPv4 too */
            (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, LISTEN_BACKLOG) == 0) {
            srv->listen_fd = fd;
        } else {
            err = errno;
            close(fd);
        }
    }
    freeaddrinfo(res);
    if (srv->listen_fd < 0) {
        (void)strbuf_setf(why, "cannot listen on %s: %s", srv->listen, strerror(err));
        free(host);
        return DMARCD_E_IO;
    }
    free(host);
    return DMARCD_OK;
}

/* Connects once at start, reads the tenant names, and tries Redis. */
static enum dmarcd_err first_connections(struct smtp_server *srv, struct strbuf *why)
{
    struct slot *slot = &srv->slots[0];
    struct store_options so;
    store_options_default(&so);
    enum dmarcd_err rc = store_open_opts(srv->o.db, &so, &slot->st, why);
    if (rc == DMARCD_OK) {
        rc = tenants_reload(srv, slot->st);
        if (rc)
            (void)strbuf_setf(why, "cannot read the tenants (%s); has `dmarcd migrate` run?",
                              dmarcd_strerror(rc));
    }
    if (rc)
        return rc;
    struct queue_options o;
    struct strbuf qwhy;
    queue_options_default(&o);
    o.prefix = srv->queue_prefix;
    o.client_name = "dmarcd-smtp";
    o.connect_attempts = 2;
    strbuf_init(&qwhy, 0);
    if (queue_open(srv->o.redis, &o, &slot->q, &qwhy)) {
        log_warn("smtp starts without redis; messages are stored and the reconciler queues "
                 "them", LOG_STR("why", qwhy.buf));
        slot->queue_retry_at = now_ms() + QUEUE_RETRY_MS;
    }
    strbuf_release(&qwhy);
    return DMARCD_OK;
}

static struct smtp_server *server_alloc(const struct smtp_server_options *o)
{
    struct smtp_server *srv = xcalloc(1, sizeof(*srv));
    srv->o = *o;
    srv->listen = xstrdup(o->listen);
    srv->queue_prefix = xstrdup(o->queue_prefix);
    srv->listen_fd = -1;
    srv->stop_pipe[0] = srv->stop_pipe[1] = -1;
    atomic_init(&srv->stopping, false);
    atomic_init(&srv->deadline_ms, 0);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&srv->lock, NULL);
    pthread_cond_init(&srv->changed, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&srv->tenant_lock, NULL);
    srv->slots = xcalloc(o->db_connections, sizeof(*srv->slots));
    if (o->hostname && o->hostname[0]) {
        snprintf(srv->hostname, sizeof(srv->hostname), "%s", o->hostname);
    } else if (gethostname(srv->hostname, sizeof(srv->hostname) - 1) != 0 || !srv->hostname[0]) {
        snprintf(srv->hostname, sizeof(srv->hostname), "localhost");
    }
    parse_domains(srv, o->domains);
    srv->proto = (struct smtp_proto_config){
        .protocol = o->protocol,
        .hostname = srv->hostname,
        .domains = (const char *const *)srv->domains,
        .ndomains = srv->ndomains,
        .max_message_bytes = o->max_message_bytes,
        .max_recipients = o->max_recipients,
    };
    return srv;
}

enum dmarcd_err smtp_server_new(const struct smtp_server_options *o, struct smtp_server **out,
                                struct strbuf *why)
{
    *out = NULL;
    enum dmarcd_err rc = check_options(o, why);
    if (rc)
        return rc;
    struct smtp_server *srv = server_alloc(o);
    if (o->tls_cert) {
        rc = smtp_tls_new(o->tls_cert, o->tls_key, &srv->tls, why);
        srv->proto.tls_available = rc == DMARCD_OK;
    }
    if (!rc && pipe2(srv->stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        (void)strbuf_setf(why, "pipe: %s", strerror(errno));
        rc = DMARCD_E_IO;
    }
    if (!rc)
        rc = first_connections(srv, why);
    if (!rc)
        rc = listen_on(srv, why);
    if (rc) {
        smtp_server_free(srv);
        return rc;
    }
    if (!srv->ndomains)
        log_warn("smtp_domains is empty: every recipient will be refused");
    *out = srv;
    return DMARCD_OK;
}

void smtp_server_free(struct smtp_server *srv)
{
    if (!srv || srv->leaked)
        return;
    for (unsigned i = 0; i < srv->o.db_connections; i++) {
        store_close(srv->slots[i].st);
        queue_close(srv->slots[i].q);
    }
    free(srv->slots);
    tenants_clear(srv);
    smtp_tls_free(srv->tls);
    if (srv->listen_fd >= 0)
        close(srv->listen_fd);
    for (int i = 0; i < 2; i++) {
        if (srv->stop_pipe[i] >= 0)
            close(srv->stop_pipe[i]);
    }
    for (size_t i = 0; i < srv->ndomains; i++)
        free(srv->domains[i]);
    free(srv->domains);
    free(srv->listen);
    free(srv->queue_prefix);
    pthread_mutex_destroy(&srv->lock);
    pthread_cond_destroy(&srv->changed);
    pthread_mutex_destroy(&srv->tenant_lock);
    free(srv);
}
