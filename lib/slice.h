/*
 * slice.h - a borrowed, length-counted view of bytes.
 *
 * A struct slice never owns its bytes and need not be NUL-terminated; it
 * lives only as long as what it points into. Parsers hand text around as
 * slices instead of copying; xstrndup() or strbuf_add() makes an owned copy.
 */
#ifndef DMARCD_SLICE_H
#define DMARCD_SLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct slice {
    const char *ptr;
    size_t len;
};

#define SLICE_LIT(s) ((struct slice){ .ptr = (s), .len = sizeof(s) - 1 })

struct slice slice_from_cstr(const char *s);
struct slice slice_make(const char *ptr, size_t len);

/* Without leading/trailing ASCII whitespace (space, tab, CR, LF, FF, VT). */
struct slice slice_trim(struct slice s);

bool slice_eq(struct slice a, struct slice b);
bool slice_eq_cstr(struct slice s, const char *cstr);
/* ASCII case-insensitive comparison. */
bool slice_eq_nocase(struct slice s, const char *cstr);
bool slice_starts_with(struct slice s, const char *prefix);

/*
 * Split at the first `sep`: *head is what precedes it, the return value
 * is true when sep was found and *tail is what follows (empty otherwise).
 */
bool slice_split(struct slice s, char sep, struct slice *head, struct slice *tail);

/*
 * Parse a decimal integer that fills the whole slice (after trimming), with
 * an optional leading '-' or '+'. False on empty input, junk or overflow.
 */
bool slice_to_i64(struct slice s, int64_t *out);

#endif
