/*
 * url.h - the two connection URLs of dmarcd, parsed once and validated.
 *
 *   mariadb://user:pass@host:port/db            (mysql:// is accepted too)
 *   mariadb://user:pass@localhost/db?socket=/run/mysqld/mysqld.sock
 *   mariadb://user:pass@db.example:3306/db?tls=on&tls_ca=/etc/ssl/ca.pem
 *   redis://[[user]:pass@]host[:port][/db]
 *
 * User names and passwords may be percent-encoded. The parsed structs own
 * their strings (heap); *_release() frees them. On failure the parse
 * functions fill `why` with what was expected (never echoing the password).
 */
#ifndef DMARCD_URL_H
#define DMARCD_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "strbuf.h"

struct db_url {
    char *user;       /* may be "" */
    char *password;   /* may be "" */
    char *host;
    unsigned port;    /* 3306 when absent */
    char *database;
    char *socket;     /* NULL unless ?socket= */
    bool tls;         /* ?tls=on: require TLS to the server */
    char *tls_ca;     /* ?tls_ca=: CA bundle to verify the server with */
};

struct redis_url {
    char *user;       /* NULL unless given (Redis 6 ACL) */
    char *password;   /* NULL unless given */
    char *host;
    unsigned port;    /* 6379 when absent */
    unsigned db;      /* 0 when absent */
};

#define DMARCD_REDIS_MAX_DB 255

enum dmarcd_err db_url_parse(const char *text, struct db_url *out, struct strbuf *why) DMARCD_MUST_CHECK;
void db_url_release(struct db_url *url);

enum dmarcd_err redis_url_parse(const char *text, struct redis_url *out, struct strbuf *why) DMARCD_MUST_CHECK;
void redis_url_release(struct redis_url *url);

/*
 * Copies url into out with the password (the part between ':' and '@' in
 * the authority) replaced by "***", for messages and `config check`.
 */
void url_mask_password(const char *url, struct strbuf *out);

/*
 * Parses "host:port" or "[ipv6]:port" with port 1..65535. *host is heap,
 * without brackets.
 */
enum dmarcd_err hostport_parse(const char *text, char **host, unsigned *port, struct strbuf *why) DMARCD_MUST_CHECK;

#endif
