/* log.c - stderr logger: JSON lines ({"ts","level","msg"}) or plain text. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/buf.h"
#include "util/jv.h"
#include "util/ts.h"

static enum log_level min_level = LOG_INFO;
static int human_format;

static const char *const level_names[] = { "debug", "info", "warning", "error" };

void log_setup(enum log_level min, int human)
{
    min_level = min;
    human_format = human;
}

int log_enabled(enum log_level level)
{
    return level >= min_level;
}

void log_write(enum log_level level, const char *fmt, ...)
{
    struct buf line = BUF_INIT;
    struct buf msg = BUF_INIT;
    char ts[40];
    va_list ap;

    if (level < min_level)
        return;
    va_start(ap, fmt);
    buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    ts_format_offset(ts_now(), ts, sizeof(ts));
    if (human_format) {
        buf_printf(&line, "%s %-7s %s\n", ts, level_names[level], msg.data);
    } else if (msg.len && msg.data[0] == '{') {
        /* Already a JSON object (request log): splice the standard keys in front. */
        buf_printf(&line, "{\"ts\":\"%s\",\"level\":\"%s\",%s\n", ts, level_names[level],
                   msg.data + 1);
    } else {
        buf_printf(&line, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", ts, level_names[level]);
        jv_write_str(&line, msg.data, msg.len);   /* the one JSON string escaper */
        buf_puts(&line, "}\n");
    }
    fwrite(line.data, 1, line.len, stderr);
    buf_release(&line);
    buf_release(&msg);
}
