/*
 * smtp.h - the listener of `dmarcd smtp`: receives DMARC and TLS reports
 * by SMTP or LMTP and puts each message in the durable inbox.
 *
 *   struct smtp_server *srv;
 *   rc = smtp_server_new(&opts, &srv, &why);   binds, loads TLS, checks the database
 *   rc = smtp_server_run(srv);                 serves until smtp_server_stop()
 *   smtp_server_free(srv);
 *
 * The dialogue itself is smtp_proto.h; this module owns the sockets, the
 * threads, the database and Redis connections and the limits.
 *
 * Durable first. At the end of DATA the message is stored with
 * inbox_put() (source smtp; origin "smtp <client ip> helo=<name>
 * from=<sender>[ tls=<version>]"; tenant when the recipients name one),
 * which commits; only then is the job pushed to the queue and only then
 * does the client get 250. A failed push is logged and not fatal: the
 * reconciler queues inbox rows that Redis never got. Any failure to store
 * (database down, refused, too slow) is 451 4.3.0 so the sender keeps the
 * message and retries; the same bytes again are the same inbox row (the
 * reply says "already stored") and are not queued twice. No Received:
 * header is added: it would make every retry different bytes and defeat
 * that deduplication; the origin column keeps the trace instead.
 *
 * Routing (documented for users in cmd_smtp.c's help). Mail is accepted
 * only for addresses in smtp_domains. The local part names the tenant:
 * "rua+acme@reports.example" (plus-tag) or "acme@reports.example" (the
 * whole local part) route to the active tenant named acme; the tag is
 * tried before the part before '+'. Any other address (rua@, dmarc@,
 * postmaster, a tenant that does not exist or was cancelled) stores the
 * message without a tenant and the worker routes it by the report's
 * policy domain. Recipients naming different tenants also leave it
 * without one. Tenant names are cached and re-read at most every 5 s on a
 * miss and every minute otherwise.
 *
 * Concurrency. One thread per connection, at most max_connections; the
 * next connection is told 421 4.7.0 and closed. Threads keep the code a
 * straight line (read, feed, store, reply) around blocking calls that
 * have no asynchronous form worth the complexity here (the MariaDB commit,
 * the GnuTLS handshake), and the limit bounds them. The database is not
 * touched per connection: db_connections slots, each a store handle and a
 * queue handle opened on first use and reopened after a failure, are lent
 * to a connection for the few milliseconds of one inbox_put + queue_push.
 *
 * Limits. Messages up to max_message_bytes; all message text held at once
 * by every connection together up to memory_limit (past it: 452 4.3.1).
 * A client silent for timeout_s while a command or message bytes are
 * expected gets 421 4.4.2 and is closed; socket writes time out alike.
 *
 * Shutdown. smtp_server_stop() (async-signal-safe: call it from the
 * SIGTERM handler) stops accepting at once and closes idle connections
 * with 421 4.3.2; transactions in progress get shutdown_timeout_s to
 * finish, then they too are told 421 and closed. A message is answered
 * 250 only once committed, so one cut short is retried by its sender.
 */
#ifndef DMARCD_INGEST_SMTP_H
#define DMARCD_INGEST_SMTP_H

#include <stddef.h>

#include "ingest/smtp_proto.h"
#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/url.h"

struct smtp_server;

struct smtp_server_options {
    const char *listen;             /* "host:port", "[::]:25" */
    enum smtp_protocol protocol;
    const char *hostname;           /* NULL: gethostname() */
    const char *domains;            /* comma-separated report domains; "" refuses all */
    const char *tls_cert;           /* both or neither: STARTTLS */
    const char *tls_key;
    size_t max_message_bytes;
    unsigned max_recipients;
    unsigned max_connections;
    unsigned timeout_s;
    size_t memory_limit;            /* >= max_message_bytes */
    unsigned db_connections;
    unsigned shutdown_timeout_s;
    const struct db_url *db;        /* borrowed for the server's life */
    const struct redis_url *redis;
    const char *queue_prefix;
};

/*
 * Validates the options, loads the certificate, connects to the database
 * once (a server that cannot store anything should not start) and binds
 * the listening socket. DMARCD_E_CONFIG for bad options or certificate,
 * DMARCD_E_DB_UNAVAILABLE when the database cannot be reached,
 * DMARCD_E_IO when the address cannot be bound; why says which.
 */
enum dmarcd_err smtp_server_new(const struct smtp_server_options *o, struct smtp_server **out,
                                struct strbuf *why) DMARCD_MUST_CHECK;

/* Accepts and serves connections until stopped and drained. */
enum dmarcd_err smtp_server_run(struct smtp_server *srv) DMARCD_MUST_CHECK;

/* Asks the server to stop; async-signal-safe, idempotent. */
void smtp_server_stop(struct smtp_server *srv);

/* NULL is a no-op. */
void smtp_server_free(struct smtp_server *srv);

#endif
