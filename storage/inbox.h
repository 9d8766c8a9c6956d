/*
 * inbox.h - the durable inbox: every raw message dmarcd accepts, stored in
 * MariaDB (table `inbox`, schema/001_core.sql) before anyone is told it
 * arrived, and the small state machine a message goes through.
 *
 *           inbox_put              inbox_claim             inbox_done
 *   (new) ───────────▶ pending ───────────────▶ processing ──────────▶ done
 *                        ▲                          │  │
 *                        └──── inbox_release ───────┘  └─ inbox_quarantine ─▶ quarantined
 *                              (transient error)          (permanent error, or out of attempts)
 *
 * A row in `processing` whose updated_at is older than a lease belongs to a
 * worker that died: inbox_claim takes it over and inbox_pending lists it for
 * the reconciler (ingest/reconcile.h). A worker holding a job longer than
 * the lease calls inbox_touch to keep it.
 *
 * Transactions. Every function here works inside the caller's transaction
 * when one is open (store_begin) and otherwise commits by itself before it
 * returns. So "commit before acknowledging" is the default: when
 * inbox_put() returns DMARCD_OK outside a transaction the bytes are
 * committed and the SMTP `250` / IMAP move may follow. An IMAP batch that
 * wants one commit for many messages opens a transaction, puts them all,
 * commits, and only then moves them. inbox_quarantine() runs its two
 * statements in its own transaction when the caller has none.
 *
 * Duplicates are not errors: the same bytes (same SHA-256) put twice give
 * the existing row's id with *duplicate set, whatever its state.
 *
 * State changes are guarded by the state they expect, so a stale worker
 * (its lease expired, another worker took the job) cannot undo a newer
 * outcome: done and quarantine apply only to pending/processing rows,
 * release only to processing rows. A guarded no-op is DMARCD_OK (the
 * outcome is already decided); a missing row is DMARCD_E_NOT_FOUND.
 *
 * Limits: a message is at most DMARCD_MAX_MESSAGE_BYTES (lib/limits.h).
 * Its stored form travels as one statement parameter, so the server's
 * max_allowed_packet must exceed the largest stored (compressed) message:
 * MariaDB's default of 16 MiB is too small for big mail; run with 80 MiB
 * or more so that even an incompressible 64 MiB message fits.
 */
#ifndef DMARCD_STORAGE_INBOX_H
#define DMARCD_STORAGE_INBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "lib/strbuf.h"
#include "storage/store.h"

/* The ENUM values of inbox.source and inbox.state. */
enum inbox_source { INBOX_SOURCE_IMAP, INBOX_SOURCE_SMTP, INBOX_SOURCE_IMPORT,
                    INBOX_SOURCE_UPLOAD };
enum inbox_state { INBOX_PENDING, INBOX_PROCESSING, INBOX_DONE, INBOX_QUARANTINED,
                   INBOX_STATE_COUNT };

const char *inbox_source_name(enum inbox_source source);
const char *inbox_state_name(enum inbox_state state);
/* false when name is not a state. */
bool inbox_state_parse(const char *name, enum inbox_state *out);

/* Column widths (characters); longer text is cut at a character boundary. */
#define INBOX_ORIGIN_MAX 255
#define INBOX_LAST_ERROR_MAX 255
#define INBOX_REASON_MAX 4000

/*
 * Stores len bytes of raw (len may be 0), compressed with zlib (kept
 * uncompressed when that would not make it smaller), with its SHA-256,
 * source, origin (free text naming where it came from: "imap
 * mail.example INBOX uid 42", "smtp from 192.0.2.1"; may be NULL) and
 * tenant_id (0: not known yet). *id receives the row id; *duplicate is
 * set when the bytes were already stored (the row is left as it is).
 * DMARCD_E_TOO_BIG past DMARCD_MAX_MESSAGE_BYTES.
 */
enum dmarcd_err inbox_put(struct store *st, const void *raw, size_t len,
                          enum inbox_source source, const char *origin, uint32_t tenant_id,
                          uint64_t *id, bool *duplicate) DMARCD_MUST_CHECK;

/* What inbox_load() tells about a row besides its bytes. Strings are heap. */
struct inbox_meta {
    uint64_t id;
    uint32_t tenant_id;         /* 0: not routed */
    enum inbox_source source;
    enum inbox_state state;
    unsigned attempts;          /* claims so far */
    char *origin;               /* "" when none */
    char *last_error;           /* "" when none */
    char *received_at;          /* "YYYY-MM-DD HH:MM:SS.mmm", UTC */
    char *updated_at;
    uint8_t sha256[32];
    size_t raw_size;
};

void inbox_meta_release(struct inbox_meta *meta);

/*
 * Loads row id: *raw receives a heap copy of the original bytes (free()
 * it; never NULL on success, even for 0 bytes), *len their length, and
 * meta (may be NULL) the row's other columns. The stored size is checked
 * against DMARCD_MAX_MESSAGE_BYTES before anything is allocated, the
 * decompressed length must equal it, and the bytes must hash to the stored
 * SHA-256: a damaged row is DMARCD_E_DECOMPRESS (permanent: quarantine it).
 * DMARCD_E_NOT_FOUND when there is no such row.
 */
enum dmarcd_err inbox_load(struct store *st, uint64_t id, uint8_t **raw, size_t *len,
                           struct inbox_meta *meta) DMARCD_MUST_CHECK;

/* The outcome of inbox_claim(). */
struct inbox_claim {
    bool claimed;               /* the row is now ours, in `processing` */
    enum inbox_state state;     /* the row's state after the call */
    unsigned attempts;          /* claims so far, this one included when claimed */
};

/*
 * pending → processing (attempts + 1, updated_at now); also takes over a
 * processing row whose updated_at is older than lease_ms (its worker
 * died). Otherwise nothing changes and claim->claimed is false: the row is
 * done or quarantined (the job was a duplicate: acknowledge it), or another
 * worker holds it within its lease. DMARCD_E_NOT_FOUND: no such row.
 */
enum dmarcd_err inbox_claim(struct store *st, uint64_t id, uint32_t lease_ms,
                            struct inbox_claim *claim) DMARCD_MUST_CHECK;

/* Renews the lease of a processing row (updated_at now). */
enum dmarcd_err inbox_touch(struct store *st, uint64_t id) DMARCD_MUST_CHECK;

/* pending/processing → done. */
enum dmarcd_err inbox_done(struct store *st, uint64_t id) DMARCD_MUST_CHECK;

/*
 * pending/processing → quarantined, plus a `quarantine` row (tenant and
 * inbox id copied, error_code = dmarcd_err_code(err), reason a sentence
 * for people) in one transaction. last_error takes the start of reason.
 */
enum dmarcd_err inbox_quarantine(struct store *st, uint64_t id, enum dmarcd_err err,
                                 const char *reason) DMARCD_MUST_CHECK;

/* processing → pending after a transient error; last_error may be NULL. */
enum dmarcd_err inbox_release(struct store *st, uint64_t id,
                              const char *last_error) DMARCD_MUST_CHECK;

/*
 * A resumable walk over the rows the queue may have lost, oldest first:
 * first pending rows not updated for grace_ms, then processing rows not
 * updated for lease_ms. Keyset paging on the (state, updated_at) index,
 * so a call costs its batch size, not the table size (the done rows,
 * almost all of the table, are never read).
 */
struct inbox_cursor {
    enum inbox_state state;     /* INBOX_PENDING, INBOX_PROCESSING, or INBOX_DONE: finished */
    char after_time[32];        /* updated_at of the last row returned; "" at a phase start */
    uint64_t after_id;
};

/* Starts a new sweep. */
void inbox_cursor_init(struct inbox_cursor *cur);

/* True when the sweep has returned every row. */
bool inbox_cursor_done(const struct inbox_cursor *cur);

/*
 * Fills ids[0..*n) with at most max ids from the cursor on and advances
 * it; *n < max only when the sweep has finished (inbox_cursor_done()).
 */
enum dmarcd_err inbox_pending(struct store *st, struct inbox_cursor *cur, uint32_t grace_ms,
                              uint32_t lease_ms, uint64_t *ids, size_t max,
                              size_t *n) DMARCD_MUST_CHECK;

/*
 * Rows per state, and how long the oldest pending row has waited. Counts
 * through the (state, updated_at) index: cheap for the small states, a
 * scan of the index for `done`; meant for `dmarcd queue status`, not for
 * a hot path.
 */
struct inbox_counts {
    uint64_t by_state[INBOX_STATE_COUNT];
    uint64_t oldest_pending_ms;     /* 0 when nothing is pending */
};

enum dmarcd_err inbox_count(struct store *st, struct inbox_counts *out) DMARCD_MUST_CHECK;

#endif
