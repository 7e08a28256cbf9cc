/* The C half of xenlight's logger: formats libxl's printf-style messages
 * (handed over as a va_list, which stable Rust cannot take) and passes the
 * finished string to the Rust callbacks stored in the logger.
 *
 * The one exported function's name carries the crate version
 * (XENLIGHT_LOGGER_NEW is defined by build.rs), so two versions of the crate
 * linked into one program do not collide; the callbacks are passed in as
 * pointers, so no Rust symbol is exported at all. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <xentoollog.h>

#ifndef XENLIGHT_LOGGER_NEW
#error "build.rs defines XENLIGHT_LOGGER_NEW"
#endif

typedef void xenlight_log_fn(int level, int errnoval, const char *context, const char *msg);
typedef int xenlight_wanted_fn(int level);

struct xenlight_logger {
    xentoollog_logger vtable; /* first: libxl sees a xentoollog_logger* */
    xenlight_log_fn *log;
    xenlight_wanted_fn *wanted;
};

static void xenlight_vmessage(xentoollog_logger *lg, xentoollog_level level, int errnoval,
                              const char *context, const char *format, va_list al)
{
    struct xenlight_logger *self = (struct xenlight_logger *)lg;
    char buf[2048];
    /* Skip the formatting of messages nobody will read (libxl logs a lot
     * at debug level). */
    if (!self->wanted((int)level))
        return;
    if (vsnprintf(buf, sizeof buf, format, al) < 0)
        buf[0] = '\0';
    self->log((int)level, errnoval, context, buf);
}

static void xenlight_progress(xentoollog_logger *lg, const char *context, const char *doing_what,
                              int percent, unsigned long done, unsigned long total)
{
    (void)lg; (void)context; (void)doing_what; (void)percent; (void)done; (void)total;
}

/* The Rust side frees the logger (with free) after the ctx. */
static void xenlight_destroy(xentoollog_logger *lg) { (void)lg; }

xentoollog_logger *XENLIGHT_LOGGER_NEW(xenlight_log_fn *log, xenlight_wanted_fn *wanted)
{
    struct xenlight_logger *lg = calloc(1, sizeof *lg);
    if (!lg)
        return NULL;
    lg->vtable.vmessage = xenlight_vmessage;
    lg->vtable.progress = xenlight_progress;
    lg->vtable.destroy = xenlight_destroy;
    lg->log = log;
    lg->wanted = wanted;
    return &lg->vtable;
}
