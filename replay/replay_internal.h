/*
 * replay_internal.h - what the replay library's files share and nothing else sees: event
 * summaries for text and CSV, the fields filters look at, output escaping, progress, and the
 * one-event-at-a-time decode step.
 */
#ifndef OMS_REPLAY_INTERNAL_H
#define OMS_REPLAY_INTERNAL_H

#include "codec.h"
#include "replay.h"

/* Scratch for one event's lists (allocation instructions and parts, a rejected command). The
 * largest event (OMS_LIMIT_EVENT_BYTES) needs far less. */
#define REPLAY_ARENA_BYTES (1u << 20)
/* Scratch for one encoded projection row plus the codec's list structs. */
#define REPLAY_ROW_BUF_BYTES (2u << 20)
/* Progress is checked every this many events (a clock read is cheap but not free). */
#define REPLAY_PROGRESS_EVERY 4096u

/* Starts a progress report (records the start time). NULL is a no-op. */
void replay__progress_start(replay_progress_t *p, const char *what);
/* Prints "what: done events (rate/s), seq/total" when the interval has passed. */
void replay__progress_tick(replay_progress_t *p, uint64_t done, uint64_t total);
/* Prints the final line. */
void replay__progress_end(replay_progress_t *p, uint64_t done);

/* Reads the recorded head from the meta family ("evlog.head": 8-byte seq + 32-byte hash).
 * 0 with *seq and *hash; OMS_ERR_NOT_FOUND when absent (an empty store has it); OMS_ERR_CORRUPT for
 * a value of the wrong size; OMS_ERR_IO. */
int replay__read_head(evlog_t *log, uint64_t *seq, oms_hash_t *hash);

/* The account and instrument an event is about ("" when none), for filters and CSV. For a
 * command rejection, those of the refused command. Pointers into ev (or static ""). */
const char *replay__event_account(const oms_event_t *ev);
const char *replay__event_instrument(const oms_event_t *ev);
/* The order an event's body names ("" when none). */
const char *replay__event_order(const oms_event_t *ev);

/* A one-line readable summary of ev into buf[cap] (cut to fit, always NUL-terminated). */
void replay__summary(const oms_event_t *ev, char *buf, size_t cap);

/* Writes s[len] as a JSON string (with quotes) / a CSV field (quoted when needed) to out. */
void replay__json_str(FILE *out, const char *s, size_t len);
void replay__csv_str(FILE *out, const char *s, size_t len);
/* Writes a key for humans: printable ASCII as is, 0x1f as '|', other bytes as \xNN. */
void replay__key_text(const uint8_t *key, size_t klen, char *buf, size_t cap);

/* Formats a decimal exactly into buf (OMS_DEC_STR_MAX). Returns buf. */
const char *replay__dec(oms_dec_t v, char *buf);

/* Writes one event (envelope header + body) in fmt. body_json: the generic JSON of the Event
 * (needed for JSON; for TEXT/CSV only when ev is NULL); ev: the decoded event (TEXT/CSV), or
 * NULL for an event type this version cannot decode: then the summary is body_json. */
int replay__write_event(FILE *out, replay_fmt_t fmt, const evlog_record_t *rec,
                        const oms_event_t *ev, const char *body_json, size_t body_json_len);
/* The event type name from an Event's generic JSON: its first key ({"order_filled":...}), ""
 * when there is none. */
void replay__json_type(const char *json, size_t len, char *type, size_t cap);
/* The JSON line of one event whose type name and body JSON the caller has. */
int replay__write_event_json(FILE *out, const evlog_record_t *rec, const char *type,
                             const char *body_json, size_t body_json_len);
/* The CSV header line of replay__write_event. */
void replay__csv_header(FILE *out);

#endif /* OMS_REPLAY_INTERNAL_H */
