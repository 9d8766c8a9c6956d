/*
 * smtp_tls.h - STARTTLS for `dmarcd smtp`: the server certificate, loaded
 * once, and TLS sessions over the listener's blocking sockets (GnuTLS).
 *
 *   struct smtp_tls *t;
 *   rc = smtp_tls_new(cert_path, key_path, &t, &why);     at start
 *   rc = smtp_tls_accept(t, fd, timeout_ms, &c, &why);    after "220 ready"
 *   n = smtp_tls_read(c, buf, len);  smtp_tls_write(c, buf, len);
 *   smtp_tls_close(c);                                    before close(fd)
 *   smtp_tls_free(t);                                     at exit
 *
 * struct smtp_tls is read-only once loaded and shared by every connection
 * thread; a struct smtp_tls_conn belongs to one thread. Timeouts come from
 * the socket (SO_RCVTIMEO / SO_SNDTIMEO, set by the listener): a read or
 * write that times out fails like any other. No client certificate is
 * asked for; the priority string is GnuTLS's default (the system policy).
 */
#ifndef DMARCD_INGEST_SMTP_TLS_H
#define DMARCD_INGEST_SMTP_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/error.h"
#include "lib/strbuf.h"

struct smtp_tls;
struct smtp_tls_conn;

/* Loads a PEM certificate chain and its key. DMARCD_E_CONFIG when unusable. */
enum dmarcd_err smtp_tls_new(const char *cert_path, const char *key_path, struct smtp_tls **out,
                             struct strbuf *why) DMARCD_MUST_CHECK;
void smtp_tls_free(struct smtp_tls *t);

/* Runs the server handshake on fd within timeout_ms. */
enum dmarcd_err smtp_tls_accept(struct smtp_tls *t, int fd, unsigned timeout_ms,
                                struct smtp_tls_conn **out, struct strbuf *why) DMARCD_MUST_CHECK;

/* > 0 bytes read, 0 the peer closed, -1 error or timeout. */
ssize_t smtp_tls_read(struct smtp_tls_conn *c, void *buf, size_t len);

/* True when decrypted bytes wait to be read (poll() on fd would not see them). */
bool smtp_tls_pending(struct smtp_tls_conn *c);

/* Writes all of buf; DMARCD_E_IO on error or timeout. */
enum dmarcd_err smtp_tls_write(struct smtp_tls_conn *c, const void *buf,
                               size_t len) DMARCD_MUST_CHECK;

/* "TLS1.3" and the like, for the message's origin. */
const char *smtp_tls_version(struct smtp_tls_conn *c);

/* Sends close_notify (without waiting for the peer's) and frees; NULL is a no-op. */
void smtp_tls_close(struct smtp_tls_conn *c);

/* The GnuTLS version in use, for logs. */
const char *smtp_tls_library_version(void);

#endif
