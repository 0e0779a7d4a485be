/* log.h - the sensor's own messages (not events): to stderr, one line each,
 * "linkwatch: <level>: <text>". Thread-safe (one write(2) per line). */
#ifndef LW_LOG_H
#define LW_LOG_H

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARNING, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_set_level(enum log_level l);
enum log_level log_get_level(void);
/* Parses "error", "warning", "info", "debug". Returns 0 or -1. */
int log_parse_level(const char *s, enum log_level *out);
void lw_log(enum log_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...)   lw_log(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warning(...) lw_log(LOG_LVL_WARNING, __VA_ARGS__)
#define log_info(...)    lw_log(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)   lw_log(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
