/* SPDX-License-Identifier: MIT */
/* Leveled logging to stderr, with rate limiting for lines a client can trigger. */
#ifndef VNP_LOG_H
#define VNP_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_LVL_ERR = 3, LOG_LVL_WARN = 4, LOG_LVL_INFO = 6, LOG_LVL_DEBUG = 7 };

/* Lines above this level are dropped; -v raises it, -q lowers it. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Prefix lines with "<N>" (syslog priority) instead of a timestamp: set when
 * stderr is the journal. */
void log_use_priority_prefix(bool on);
/* Whether stderr is the journal's stream: systemd sets JOURNAL_STREAM to its
 * "device:inode", which an inherited variable no longer matches once stderr
 * is redirected (to a file, a pipe, a terminal). */
bool log_stderr_is_journal(void);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/* A budget of lines per interval, so a client cannot flood the log. */
struct log_ratelimit {
	uint64_t window_start_ns;
	unsigned printed;
	unsigned suppressed;
};

#define LOG_RATELIMIT_BURST 10
#define LOG_RATELIMIT_INTERVAL_NS (5ull * 1000 * 1000 * 1000)

/* Logs like log_msg while the budget lasts; then counts what it dropped and
 * reports that count when the next window opens. */
void log_limited(struct log_ratelimit *rl, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

uint64_t monotonic_ns(void);

#endif
