/*
 * smtp_tls.c - STARTTLS with GnuTLS (see smtp_tls.h).
 *
 * GnuTLS rather than OpenSSL because it is already in every dmarcd image:
 * libmicrohttpd (the API's HTTP server) is built on it, so the listener
 * adds no library to the runtime image and no -dev package that the build
 * did not already pull in. Sessions run over the listener's blocking
 * sockets: a socket timeout surfaces as GNUTLS_E_AGAIN, which here is a
 * timeout like any other, never a reason to spin.
 */
#include <gnutls/gnutls.h>
#include <stdlib.h>
#include <time.h>

#include "ingest/smtp_tls.h"
#include "lib/xalloc.h"
#include "lib/banned.h"

struct smtp_tls {
    gnutls_certificate_credentials_t cred;
    gnutls_priority_t priority;
};

struct smtp_tls_conn {
    gnutls_session_t session;
};

enum dmarcd_err smtp_tls_new(const char *cert_path, const char *key_path, struct smtp_tls **out,
                             struct strbuf *why)
{
    struct smtp_tls *t = xcalloc(1, sizeof(*t));
    int rc = gnutls_certificate_allocate_credentials(&t->cred);
    if (rc < 0)
        goto fail;
    rc = gnutls_certificate_set_x509_key_file2(t->cred, cert_path, key_path, GNUTLS_X509_FMT_PEM,
                                               NULL, 0);
    if (rc < 0)
        goto fail;
    rc = gnutls_certificate_set_known_dh_params(t->cred, GNUTLS_SEC_PARAM_MEDIUM);
    if (rc < 0)
        goto fail;
    rc = gnutls_priority_init(&t->priority, NULL, NULL);
    if (rc < 0)
        goto fail;
    *out = t;
    return DMARCD_OK;
fail:
    (void)strbuf_setf(why, "cannot load the certificate %s with key %s: %s", cert_path,
                      key_path, gnutls_strerror(rc));
    smtp_tls_free(t);
    *out = NULL;
    return DMARCD_E_CONFIG;
}

void smtp_tls_free(struct smtp_tls *t)
{
    if (!t)
        return;
    if (t->priority)
        gnutls_priority_deinit(t->priority);
    if (t->cred)
        gnutls_certificate_free_credentials(t->cred);
    free(t);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum dmarcd_err smtp_tls_accept(struct smtp_tls *t, int fd, unsigned timeout_ms,
                                struct smtp_tls_conn **out, struct strbuf *why)
{
    struct smtp_tls_conn *c = xcalloc(1, sizeof(*c));
    *out = NULL;
    int rc = gnutls_init(&c->session, GNUTLS_SERVER | GNUTLS_NO_SIGNAL);
    if (rc < 0) {
        free(c);
        (void)strbuf_setf(why, "tls: %s", gnutls_strerror(rc));
        return DMARCD_E_INTERNAL;
    }
    rc = gnutls_priority_set(c->session, t->priority);
    if (rc >= 0)
        rc = gnutls_credentials_set(c->session, GNUTLS_CRD_CERTIFICATE, t->cred);
    if (rc >= 0) {
        gnutls_certificate_server_set_request(c->session, GNUTLS_CERT_IGNORE);
        gnutls_transport_set_int(c->session, fd);
        gnutls_handshake_set_timeout(c->session, timeout_ms);
        long long deadline = now_ms() + timeout_ms;
        do {
            rc = gnutls_handshake(c->session);
        } while (rc < 0 && !gnutls_error_is_fatal(rc) && rc != GNUTLS_E_AGAIN &&
                 now_ms() < deadline);
    }
    if (rc < 0) {
        (void)strbuf_setf(why, "tls handshake: %s",
                          rc == GNUTLS_E_AGAIN ? "timed out" : gnutls_strerror(rc));
        gnutls_deinit(c->session);
        free(c);
        return DMARCD_E_IO;
    }
    *out = c;
    return DMARCD_OK;
}

ssize_t smtp_tls_read(struct smtp_tls_conn *c, void *buf, size_t len)
{
    for (;;) {
        ssize_t n = gnutls_record_recv(c->session, buf, len);
        if (n >= 0)
            return n;
        if (n == GNUTLS_E_INTERRUPTED)
            continue;
        if (n == GNUTLS_E_PREMATURE_TERMINATION)
            return 0;
        return -1;
    }
}

bool smtp_tls_pending(struct smtp_tls_conn *c)
{
    return gnutls_record_check_pending(c->session) > 0;
}

enum dmarcd_err smtp_tls_write(struct smtp_tls_conn *c, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = gnutls_record_send(c->session, p, len);
        if (n == GNUTLS_E_INTERRUPTED)
            continue;
        if (n <= 0)
            return DMARCD_E_IO;
        p += n;
        len -= (size_t)n;
    }
    return DMARCD_OK;
}

const char *smtp_tls_version(struct smtp_tls_conn *c)
{
    const char *name = gnutls_protocol_get_name(gnutls_protocol_get_version(c->session));
    return name ? name : "TLS";
}

void smtp_tls_close(struct smtp_tls_conn *c)
{
    if (!c)
        return;
    (void)gnutls_bye(c->session, GNUTLS_SHUT_WR);
    gnutls_deinit(c->session);
    free(c);
}

const char *smtp_tls_library_version(void)
{
    const char *v = gnutls_check_version(NULL);
    return v ? v : "?";
}
