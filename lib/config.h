/*
 * config.h - the configuration table: every setting of dmarcd, its
 * environment variable, type, bounds, default and meaning, in one place.
 *
 * Values come from the built-in default, then a config file
 * (`--config FILE` or DMARCD_CONFIG; `key = value` lines), then the
 * environment (DMARCD_<KEY>), which wins. Any key may instead name a file
 * holding its value: `<key>_file` in the file or DMARCD_<KEY>_FILE in the
 * environment (Kubernetes Secrets); a trailing newline is dropped.
 *
 * config_load() reads and validates everything and collects every problem
 * (key, where it came from, the bad value with secrets masked, what is
 * allowed) instead of stopping at the first, so `dmarcd config check` can
 * name them all. Typed getters then read the validated values.
 *
 *   struct config cfg; struct config_problems probs;
 *   config_init(&cfg); config_problems_init(&probs);
 *   rc = config_load(&cfg, path, environ, &probs);
 *   ... config_get_int(&cfg, CONFIG_WORKER_THREADS) ...
 *   config_problems_release(&probs); config_release(&cfg);
 */
#ifndef DMARCD_CONFIG_H
#define DMARCD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "log.h"
#include "strbuf.h"

enum config_type {
    CONFIG_TYPE_STRING,
    CONFIG_TYPE_INT,          /* decimal integer within [min, max] */
    CONFIG_TYPE_ENUM,         /* one of the '|'-separated words in `allowed` */
    CONFIG_TYPE_DATABASE_URL, /* see url.h */
    CONFIG_TYPE_REDIS_URL,
    CONFIG_TYPE_HOSTPORT,     /* host:port or [ipv6]:port */
    CONFIG_TYPE_DOMAIN_LIST,  /* comma-separated domain names, may be empty */
    CONFIG_TYPE_PATH,         /* a file path; must be readable when set */
};

/*
 * X(id, key, type, min, max, default, allowed, secret, description)
 * `default` NULL means unset; `secret` values are masked in every output.
 */
#define DMARCD_CONFIG_KEYS(X)                                                                     \
    X(CONFIG_DATABASE_URL, "database_url", CONFIG_TYPE_DATABASE_URL, 0, 0, NULL, NULL, true,      \
      "MariaDB connection: mariadb://user:pass@host:port/db, or ...@localhost/db?socket=/path "   \
      "(add tls=on and tls_ca=/path for TLS). Required by commands that use the database.")       \
    X(CONFIG_REDIS_URL, "redis_url", CONFIG_TYPE_REDIS_URL, 0, 0, "redis://127.0.0.1:6379/0",     \
      NULL, true, "Redis holding the job queue: redis://[:password@]host:port/db.")               \
    X(CONFIG_LOG_LEVEL, "log_level", CONFIG_TYPE_ENUM, 0, 0, "info", "debug|info|warn|error",     \
      false, "Least severe log level written to standard error.")                                 \
    X(CONFIG_API_LISTEN, "api_listen", CONFIG_TYPE_HOSTPORT, 0, 0, "127.0.0.1:8080", NULL, false, \
      "Address and port `dmarcd api` listens on.")                                                \
    X(CONFIG_API_TLS_CERT, "api_tls_cert", CONFIG_TYPE_PATH, 0, 0, NULL, NULL, false,             \
      "PEM certificate chain `dmarcd api` serves HTTPS with (set with api_tls_key).")             \
    X(CONFIG_API_TLS_KEY, "api_tls_key", CONFIG_TYPE_PATH, 0, 0, NULL, NULL, false,               \
      "PEM private key of api_tls_cert.")                                                         \
    X(CONFIG_API_ALLOW_PLAIN_HTTP, "api_allow_plain_http", CONFIG_TYPE_ENUM, 0, 0, "false",       \
      "false|true", false,                                                                        \
      "true lets `dmarcd api` serve plain HTTP on a non-loopback address, for a proxy or "        \
      "ingress in front that terminates TLS; false refuses to start without api_tls_cert.")       \
    X(CONFIG_API_THREADS, "api_threads", CONFIG_TYPE_INT, 1, 256, "8", NULL, false,               \
      "Server threads of `dmarcd api`, each with one database connection: the most requests "     \
      "it works on at once.")                                                                     \
    X(CONFIG_API_MAX_UPLOAD_BYTES, "api_max_upload_bytes", CONFIG_TYPE_INT, 1024, 67108864,       \
      "16777216", NULL, false, "Largest report file or message POST /api/v1/uploads accepts.")    \
    X(CONFIG_API_TIMEOUT, "api_timeout", CONFIG_TYPE_INT, 1, 3600, "30", NULL, false,             \
      "Seconds `dmarcd api` keeps a connection that sends nothing before closing it.")            \
    X(CONFIG_API_SHUTDOWN_TIMEOUT, "api_shutdown_timeout", CONFIG_TYPE_INT, 0, 3600, "20", NULL,  \
      false, "Seconds `dmarcd api` lets requests in flight finish after SIGTERM.")                \
    X(CONFIG_API_TRUSTED_PROXIES, "api_trusted_proxies", CONFIG_TYPE_INT, 0, 10, "0", NULL,       \
      false,                                                                                      \
      "Reverse proxies in front of `dmarcd api` whose X-Forwarded-For entries are trusted; the "  \
      "client address (login throttling, audit) is taken that many entries from the right.")     \
    X(CONFIG_API_SESSION_HOURS, "api_session_hours", CONFIG_TYPE_INT, 1, 720, "12", NULL, false,  \
      "Hours a dashboard sign-in lasts at most.")                                                 \
    X(CONFIG_API_SESSION_IDLE_MINUTES, "api_session_idle_minutes", CONFIG_TYPE_INT, 5, 1440,      \
      "60", NULL, false, "Minutes without a request after which a dashboard sign-in ends.")       \
    X(CONFIG_API_CACHE_SECONDS, "api_cache_seconds", CONFIG_TYPE_INT, 0, 3600, "30", NULL,      \
      false,                                                                                      \
      "Seconds `dmarcd api` reuses an overview, sources or time-series answer for the same "      \
      "tenant and query (the data changes as reports arrive); 0 turns the cache off.")            \
    X(CONFIG_API_WEB_ROOT, "api_web_root", CONFIG_TYPE_STRING, 0, 0, "/usr/share/dmarcd/web",     \
      NULL, false,                                                                                \
      "Directory of the web dashboard's files, served by `dmarcd api` (GET / is index.html); "    \
      "when missing, only the API is served.")                                                    \
    X(CONFIG_SMTP_LISTEN, "smtp_listen", CONFIG_TYPE_HOSTPORT, 0, 0, "127.0.0.1:2525", NULL,      \
      false, "Address and port `dmarcd smtp` listens on.")                                        \
    X(CONFIG_SMTP_DOMAINS, "smtp_domains", CONFIG_TYPE_DOMAIN_LIST, 0, 0, "", NULL, false,        \
      "Comma-separated domains whose addresses accept reports by SMTP; empty refuses all mail.")  \
    X(CONFIG_SMTP_PROTOCOL, "smtp_protocol", CONFIG_TYPE_ENUM, 0, 0, "smtp", "smtp|lmtp", false,  \
      "What `dmarcd smtp` speaks: smtp (RFC 5321, senders connect directly) or lmtp (RFC "        \
      "2033, behind a mail server that delivers to it; one reply per recipient).")                \
    X(CONFIG_SMTP_HOSTNAME, "smtp_hostname", CONFIG_TYPE_STRING, 0, 0, NULL, NULL, false,         \
      "Name `dmarcd smtp` gives in its greeting and replies; unset: the machine's host name.")    \
    X(CONFIG_SMTP_TLS_CERT, "smtp_tls_cert", CONFIG_TYPE_PATH, 0, 0, NULL, NULL, false,           \
      "PEM certificate chain for STARTTLS (set with smtp_tls_key); unset: no STARTTLS.")          \
    X(CONFIG_SMTP_TLS_KEY, "smtp_tls_key", CONFIG_TYPE_PATH, 0, 0, NULL, NULL, false,             \
      "PEM private key of smtp_tls_cert.")                                                        \
    X(CONFIG_SMTP_MAX_MESSAGE_BYTES, "smtp_max_message_bytes", CONFIG_TYPE_INT, 65536, 67108864,  \
      "33554432", NULL, false,                                                                    \
      "Largest message `dmarcd smtp` accepts (advertised as SIZE; larger ones get 552 5.3.4).")   \
    X(CONFIG_SMTP_MAX_RECIPIENTS, "smtp_max_recipients", CONFIG_TYPE_INT, 1, 1000, "100", NULL,   \
      false, "Recipients per message; more get 452 4.5.3 and are sent again by the client.")      \
    X(CONFIG_SMTP_MAX_CONNECTIONS, "smtp_max_connections", CONFIG_TYPE_INT, 1, 10000, "100",      \
      NULL, false,                                                                                \
      "Connections `dmarcd smtp` serves at once (a thread each); more are told 421 and closed.")  \
    X(CONFIG_SMTP_TIMEOUT, "smtp_timeout", CONFIG_TYPE_INT, 1, 3600, "300", NULL, false,          \
      "Seconds `dmarcd smtp` waits for a client's next command or next message bytes before "     \
      "421 and closing (RFC 5321 asks for at least 300).")                                        \
    X(CONFIG_SMTP_MEMORY_LIMIT, "smtp_memory_limit", CONFIG_TYPE_INT, 1048576, 17179869184,       \
      "268435456", NULL, false,                                                                   \
      "Bytes of message text all SMTP connections together may hold while receiving; past it "    \
      "a message gets 452 4.3.1 (retry later). At least smtp_max_message_bytes.")                 \
    X(CONFIG_SMTP_DB_CONNECTIONS, "smtp_db_connections", CONFIG_TYPE_INT, 1, 64, "4", NULL,       \
      false, "Database (and Redis) connections `dmarcd smtp` stores messages through, shared "    \
      "by all SMTP connections.")                                                                 \
    X(CONFIG_SMTP_SHUTDOWN_TIMEOUT, "smtp_shutdown_timeout", CONFIG_TYPE_INT, 0, 3600, "30",      \
      NULL, false,                                                                                \
      "Seconds `dmarcd smtp` lets transactions in progress finish after SIGTERM; idle "           \
      "connections are closed at once. Keep it below the pod's termination grace period.")        \
    X(CONFIG_IMAP_URL, "imap_url", CONFIG_TYPE_STRING, 0, 0, NULL, NULL, false,                   \
      "Mailbox `dmarcd imap` polls: imaps://host[:port]/MAILBOX (TLS from the start, port 993) "  \
      "or imap://host[:port]/MAILBOX (STARTTLS, port 143). MAILBOX is percent-encoded UTF-8, "    \
      "INBOX when left out. No credentials in the URL: they have keys of their own.")             \
    X(CONFIG_IMAP_USERNAME, "imap_username", CONFIG_TYPE_STRING, 0, 0, NULL, NULL, false,         \
      "User `dmarcd imap` logs in as (for Microsoft 365 and Gmail: the mailbox's address).")      \
    X(CONFIG_IMAP_PASSWORD, "imap_password", CONFIG_TYPE_STRING, 0, 0, NULL, NULL, true,          \
      "Password of imap_username. Best kept in a file (imap_password_file, "                      \
      "DMARCD_IMAP_PASSWORD_FILE): it is read again before every login, so a rotated password "   \
      "is picked up without a restart.")                                                          \
    X(CONFIG_IMAP_OAUTH2_TOKEN, "imap_oauth2_token", CONFIG_TYPE_STRING, 0, 0, NULL, NULL, true,  \
      "OAuth 2.0 access token of imap_username (XOAUTH2/OAUTHBEARER: Microsoft 365, Gmail), "     \
      "used instead of imap_password when set. Keep it in a file (imap_oauth2_token_file) "       \
      "that a token refresher rewrites: it is read again before every login.")                    \
    X(CONFIG_IMAP_PROCESSED_FOLDER, "imap_processed_folder", CONFIG_TYPE_STRING, 0, 0,            \
      "Processed", NULL, false,                                                                   \
      "Folder `dmarcd imap` moves a message to once it is stored (imap_mode = move); created "    \
      "when missing. UTF-8, as the server names it (with its hierarchy separator).")              \
    X(CONFIG_IMAP_MODE, "imap_mode", CONFIG_TYPE_ENUM, 0, 0, "move", "move|flag", false,          \
      "What `dmarcd imap` does with a stored message: move it to imap_processed_folder, or "      \
      "flag it (\\Seen and the keyword DmarcdStored) and leave it where it is.")                  \
    X(CONFIG_IMAP_BATCH, "imap_batch", CONFIG_TYPE_INT, 1, 500, "50", NULL, false,                \
      "Messages `dmarcd imap` fetches, stores and then moves as one batch.")                      \
    X(CONFIG_IMAP_POLL_SECONDS, "imap_poll_seconds", CONFIG_TYPE_INT, 1, 86400, "60", NULL,       \
      false, "Seconds between two passes of `dmarcd imap` over the mailbox; after a failure it "  \
      "tries again sooner (1, 2, 4... seconds, up to this).")                                     \
    X(CONFIG_IMAP_TIMEOUT, "imap_timeout", CONFIG_TYPE_INT, 1, 3600, "60", NULL, false,           \
      "Seconds `dmarcd imap` waits for the IMAP server (to connect, then for each answer) "       \
      "before it drops the connection and tries again later.")                                    \
    X(CONFIG_IMAP_TENANT, "imap_tenant", CONFIG_TYPE_STRING, 0, 0, NULL, NULL, false,             \
      "Tenant (by name) every message of this mailbox belongs to; unset: each report goes to "    \
      "the tenant owning its policy domain.")                                                     \
    X(CONFIG_IMAP_CA_FILE, "imap_ca_file", CONFIG_TYPE_PATH, 0, 0, NULL, NULL, false,             \
      "CA certificates (PEM) to verify the IMAP server with instead of the system's.")            \
    X(CONFIG_IMAP_STARTTLS, "imap_starttls", CONFIG_TYPE_ENUM, 0, 0, "required", "required|off",  \
      false, "For imap:// URLs: required upgrades the connection with STARTTLS and refuses a "    \
      "server without it; off logs in over plain text (only for a server on the same host or "    \
      "a trusted network).")                                                                      \
    X(CONFIG_MASTER_KEY_FILE, "master_key_file", CONFIG_TYPE_PATH, 0, 0, NULL, NULL, false,       \
      "File holding the master key that wraps per-tenant data keys. Required by workers and "     \
      "the API.")                                                                                 \
    X(CONFIG_MASTER_KEY_PREVIOUS_FILE, "master_key_previous_file", CONFIG_TYPE_PATH, 0, 0, NULL,  \
      NULL, false,                                                                                \
      "During a master key rotation: the file of the old master key, so that data keys it "       \
      "wrapped stay readable until `dmarcd tenant rewrap` has moved them to master_key_file.")    \
    X(CONFIG_PGP_FALLBACK, "pgp_fallback", CONFIG_TYPE_ENUM, 0, 0, "drop", "drop|encrypted",      \
      false,                                                                                      \
      "A failure report of a tenant under the pgp policy whose OpenPGP key can no longer "        \
      "encrypt (expired, revoked): drop its sample (the metadata row is kept), or store it "      \
      "encrypted at rest as under the encrypted policy. Never stored in clear; the tenant "       \
      "is alerted either way.")                                                                   \
    X(CONFIG_RETENTION_BASIC_MONTHS, "retention_basic_months", CONFIG_TYPE_INT, 1, 240, "3",      \
      NULL, false, "Months reports of tenants on the basic tier are kept.")                       \
    X(CONFIG_RETENTION_BASIC_PLUS_MONTHS, "retention_basic_plus_months", CONFIG_TYPE_INT, 1,      \
      240, "3", NULL, false, "Months reports of tenants on the basic-plus tier are kept.")        \
    X(CONFIG_RETENTION_ADVANCED_MONTHS, "retention_advanced_months", CONFIG_TYPE_INT, 1, 240,     \
      "12", NULL, false, "Months reports of tenants on the advanced tier are kept.")              \
    X(CONFIG_RETENTION_ENTERPRISE_MONTHS, "retention_enterprise_months", CONFIG_TYPE_INT, 1,      \
      240, "24", NULL, false, "Months reports of tenants on the enterprise tier are kept.")       \
    X(CONFIG_RETENTION_INBOX_DAYS, "retention_inbox_days", CONFIG_TYPE_INT, 1, 3650, "7", NULL,   \
      false, "Days raw messages stay in the inbox after receipt once processed (done or "         \
      "quarantined); pending ones are never removed.")                                            \
    X(CONFIG_RETENTION_QUARANTINE_DAYS, "retention_quarantine_days", CONFIG_TYPE_INT, 1, 3650,    \
      "90", NULL, false, "Days quarantine rows (reasons a report was not stored) are kept.")      \
    X(CONFIG_RETENTION_AUDIT_DAYS, "retention_audit_days", CONFIG_TYPE_INT, 1, 3650, "365",       \
      NULL, false, "Days audit-log rows and the retention trail are kept.")                       \
    X(CONFIG_RETENTION_BATCH_ROWS, "retention_batch_rows", CONFIG_TYPE_INT, 100, 100000,          \
      "5000", NULL, false,                                                                        \
      "Rows `dmarcd retention` deletes per statement (each its own short transaction).")          \
    X(CONFIG_WORKER_THREADS, "worker_threads", CONFIG_TYPE_INT, 1, 64, "2", NULL, false,          \
      "Threads `dmarcd worker` runs, each with its own database and Redis connections.")          \
    X(CONFIG_QUEUE_PREFIX, "queue_prefix", CONFIG_TYPE_STRING, 0, 0, "dmarcd:", NULL, false,      \
      "Prefix of the job queue's Redis keys (1 to 64 printable characters, no spaces); "          \
      "processes sharing a queue must agree on it. Put a {hash tag} in it for Redis Cluster.")

enum config_key {
#define DMARCD_CONFIG_ENUM(id, ...) id,
    DMARCD_CONFIG_KEYS(DMARCD_CONFIG_ENUM)
#undef DMARCD_CONFIG_ENUM
    CONFIG_KEY_COUNT
};

enum config_source { CONFIG_FROM_DEFAULT, CONFIG_FROM_FILE, CONFIG_FROM_ENV };

struct config_value {
    char *text;                 /* NULL when unset */
    enum config_source source;
    bool via_file;              /* came through the _FILE form */
    int64_t number;             /* parsed value of CONFIG_TYPE_INT */
};

struct config {
    struct config_value values[CONFIG_KEY_COUNT];
    char *file;                 /* the config file read, or NULL */
};

struct config_problem {
    char *key;                  /* "worker_threads" or the unknown name */
    char *origin;               /* "environment DMARCD_WORKER_THREADS", "file x.conf:3" */
    char *value;                /* the offending value, secrets masked; may be NULL */
    char *message;              /* what is wrong and what is allowed */
    bool fatal;                 /* false: a warning (e.g. unknown DMARCD_ variable) */
};

struct config_problems {
    struct config_problem *items;
    size_t count;
    size_t alloc;
};

void config_init(struct config *cfg);
void config_release(struct config *cfg);
void config_problems_init(struct config_problems *probs);
void config_problems_release(struct config_problems *probs);
size_t config_problems_fatal(const struct config_problems *probs);

/*
 * Reads defaults, the file at path (if NULL, the one DMARCD_CONFIG names,
 * if any) and the environment envp ("NAME=value" strings, NULL-terminated:
 * pass `environ`), then validates. Unknown DMARCD_ variables and unknown
 * file keys are reported (typos must not pass silently). Returns DMARCD_E_CONFIG when any fatal problem was found (all
 * listed in probs), DMARCD_OK otherwise.
 */
enum dmarcd_err config_load(struct config *cfg, const char *path, char *const *envp,
                            struct config_problems *probs) DMARCD_MUST_CHECK;

/* Checks that the key is set; adds a problem naming `who` needs it. */
enum dmarcd_err config_require(const struct config *cfg, enum config_key key, const char *who,
                               struct config_problems *probs) DMARCD_MUST_CHECK;

const char *config_key_name(enum config_key key);
/* NULL when unset. */
const char *config_get_str(const struct config *cfg, enum config_key key);
int64_t config_get_int(const struct config *cfg, enum config_key key);
enum log_level config_get_log_level(const struct config *cfg);

/* "the value, with passwords masked" for display; `***` for opaque secrets. */
void config_describe_value(const struct config *cfg, enum config_key key, struct strbuf *out);

/* Prints every problem, one per line, to out. */
void config_problems_print(const struct config_problems *probs, FILE *out);

/* Writes the documented sample configuration (every key, its default). */
void config_write_sample(FILE *out);

#endif
