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
    X(CONFIG_SMTP_LISTEN, "smtp_listen", CONFIG_TYPE_HOSTPORT, 0, 0, "127.0.0.1:2525", NULL,      \
      false, "Address and port `dmarcd smtp` listens on.")                                        \
    X(CONFIG_SMTP_DOMAINS, "smtp_domains", CONFIG_TYPE_DOMAIN_LIST, 0, 0, "", NULL, false,        \
      "Comma-separated domains whose addresses accept reports by SMTP; empty refuses all mail.")  \
    X(CONFIG_MASTER_KEY_FILE, "master_key_file", CONFIG_TYPE_PATH, 0, 0, NULL, NULL, false,       \
      "File holding the master key that wraps per-tenant data keys. Required by workers and "     \
      "the API.")                                                                                 \
    X(CONFIG_WORKER_THREADS, "worker_threads", CONFIG_TYPE_INT, 1, 64, "2", NULL, false,          \
      "Threads `dmarcd worker` runs, each with its own database and Redis connections.")

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
