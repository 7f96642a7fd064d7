/* The C side of Plimsoll's VIP sets: libipset (the library behind the ipset tool). */
#ifndef PLIMSOLL_CIPSET_SHIM_H
#define PLIMSOLL_CIPSET_SHIM_H
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libipset/ipset.h>
#include <libipset/session.h>
#include <libipset/types.h>
#include <libipset/data.h>
#include <libipset/parse.h>
#include <libipset/print.h>
#include <libipset/utils.h>

/*
 * Why these helpers exist: libipset prints `list`/`save` output through a printf-style
 * callback (`ipset_print_outfn`, variadic), which Swift can neither implement nor pass.
 * cipset_session_init installs a C callback that appends the formatted text to a
 * caller-owned growable buffer, which Swift reads and resets between commands.
 */

/* Text that libipset printed since the last reset. Owned by the Swift session object. */
struct cipset_output {
    char *bytes;      /* NUL-terminated when length > 0; NULL until the first print */
    size_t length;    /* bytes used, without the NUL */
    size_t capacity;  /* bytes allocated */
};

static inline int cipset_output_printf(struct ipset_session *session, void *p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline int cipset_output_printf(struct ipset_session *session, void *p, const char *fmt, ...) {
    (void)session;
    struct cipset_output *out = (struct cipset_output *)p;
    va_list args;
    va_start(args, fmt);
    int needed = vsnprintf(NULL, 0, fmt, args);
    va_end(args);
    if (needed < 0) return -1;
    size_t want = out->length + (size_t)needed + 1;
    if (want > out->capacity) {
        size_t capacity = out->capacity ? out->capacity : 4096;
        while (capacity < want) capacity *= 2;
        char *bytes = (char *)realloc(out->bytes, capacity);
        if (bytes == NULL) return -1;
        out->bytes = bytes;
        out->capacity = capacity;
    }
    va_start(args, fmt);
    vsnprintf(out->bytes + out->length, out->capacity - out->length, fmt, args);
    va_end(args);
    out->length += (size_t)needed;
    return needed;
}

/* ipset_session_init with output captured into `out` (which must outlive the session). */
static inline struct ipset_session *cipset_session_init(struct cipset_output *out) {
    return ipset_session_init(cipset_output_printf, out);
}

/* Forget captured output, keeping the allocation. */
static inline void cipset_output_reset(struct cipset_output *out) {
    out->length = 0;
    if (out->bytes != NULL) out->bytes[0] = '\0';
}

static inline void cipset_output_free(struct cipset_output *out) {
    free(out->bytes);
    out->bytes = NULL;
    out->length = 0;
    out->capacity = 0;
}

/* Stand-in for the ipset_session_data_set macro, which Swift cannot import. */
static inline int cipset_session_data_set(struct ipset_session *session, enum ipset_opt opt, const void *value) {
    return ipset_data_set(ipset_session_data(session), opt, value);
}

/* Stand-in for the ipset_session_data_get macro, which Swift cannot import. */
static inline const void *cipset_session_data_get(struct ipset_session *session, enum ipset_opt opt) {
    return ipset_data_get(ipset_session_data(session), opt);
}

/* The name of a set type ("hash:ip,port"); struct ipset_type ends in a flexible array, so Swift sees it as opaque. */
static inline const char *cipset_type_name(const struct ipset_type *type) {
    return type->name;
}

/* Whether the last dimension of a set type's element may be left out (ipset_parse_elem's `optional`). */
static inline bool cipset_type_last_elem_optional(const struct ipset_type *type) {
    return type->last_elem_optional;
}
#endif
