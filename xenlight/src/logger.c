/* The C half of xenlight's logger: formats libxl's printf-style messages
 * (handed over as a va_list) and passes the finished string to Rust. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <xentoollog.h>

/* Implemented in Rust (src/logger.rs); neither unwinds. */
extern void xenlight_rust_log(int level, int errnoval, const char *context, const char *msg);
extern int xenlight_rust_log_wanted(int level);

static void xenlight_vmessage(xentoollog_logger *lg, xentoollog_level level, int errnoval,
                              const char *context, const char *format, va_list al)
{
    char buf[2048];
    (void)lg;
    /* Skip the formatting of messages nobody will read (libxl logs a lot
     * at debug level). */
    if (!xenlight_rust_log_wanted((int)level))
        return;
    if (vsnprintf(buf, sizeof buf, format, al) < 0)
        buf[0] = '\0';
    xenlight_rust_log((int)level, errnoval, context, buf);
}

static void xenlight_progress(xentoollog_logger *lg, const char *context, const char *doing_what,
                              int percent, unsigned long done, unsigned long total)
{
    (void)lg; (void)context; (void)doing_what; (void)percent; (void)done; (void)total;
}

/* The Rust side frees the logger with xenlight_logger_free after the ctx. */
static void xenlight_destroy(xentoollog_logger *lg) { (void)lg; }

xentoollog_logger *xenlight_logger_new(void)
{
    xentoollog_logger *lg = calloc(1, sizeof *lg);
    if (!lg)
        return NULL;
    lg->vmessage = xenlight_vmessage;
    lg->progress = xenlight_progress;
    lg->destroy = xenlight_destroy;
    return lg;
}

void xenlight_logger_free(xentoollog_logger *lg) { free(lg); }
