/*
 * replay_internal.h - what the replay library's files share and nothing else sees: event
 * summaries for text and CSV, the fields filters look at, output escaping, progress, and the
 * pass over the log that verify and state share (pass.c).
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
/* A rebuild of fewer events is given no size hint (replay__size): a small state grows fast
 * enough by doubling. */
#define REPLAY_SIZE_MIN 65536u
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

/* ---- the pass over the log (pass.c) ---------------------------------------------------------- */

/* What one pass does. verify: replay_verify's checks on every envelope (contiguity, malformed
 * keys, seq, prev hash, own hash, a log past the recorded head, sequencer time going back, the
 * anchor); otherwise replay_rebuild's (each envelope parses and has the key's seq; stop after
 * to_seq, or before the first event later than to_ts_ns). */
typedef struct {
    bool verify;            /* see above */
    oms_engine_t *eng;      /* decode every event and apply it to eng (its caller's); NULL: don't */
    bool head_known;        /* verify: head_seq is the recorded head */
    uint64_t head_seq;      /* verify: the recorded head seq */
    bool has_anchor;        /* verify: check anchor_seq's hash */
    uint64_t anchor_seq;    /* verify */
    oms_hash_t anchor_hash; /* verify */
    uint64_t to_seq;        /* rebuild: the last seq (0: nothing is read) */
    int64_t to_ts_ns;       /* rebuild: 0, or stop before the first event later than this */
    unsigned threads;       /* 1..REPLAY_THREADS_MAX (replay__threads); the caller is one */
    uint32_t chunk_events;  /* events per chunk (0: the default); tests use small ones */
    replay_progress_t *progress; /* may be NULL; started by the caller */
    uint64_t progress_total;     /* the total shown in progress lines */
    uint64_t size_hint;          /* with eng: the events the pass expects to apply (0: no
                                    hint); after a sixteenth of them (at a chunk's start) the
                                    state is sized for the whole (replay__size) */
} replay_pass_cfg_t;

/* What one pass found. */
typedef struct {
    bool failed;          /* a check failed (or an event did not apply) at bad_seq */
    replay_bad_t bad;     /* which (verify's kinds; a rebuild reads bad_rc) */
    uint64_t bad_seq;     /* the first bad seq */
    int bad_rc;           /* OMS_ERR_CORRUPT, or proj_apply's error */
    char reason[512];     /* for humans */
    uint64_t events;      /* events that passed every check (and were applied) */
    uint64_t last_seq;    /* the last of them (0: none) */
    oms_hash_t last_hash; /* its hash */
    bool anchor_seen;     /* verify: the anchor's seq was met (and matched) */
} replay_pass_t;

/* Runs one pass over log from seq 1 in cfg->threads threads (the calling thread is one; each
 * helper is joined before this returns, on every path). The result does not depend on the
 * number of threads or the chunk size. Memory: a ring of chunks, bounded whatever the log's
 * length, plus the engine's state. Returns 0 when the pass completed (*out says whether it
 * failed and where), OMS_ERR_IO when the store could not be read, OMS_ERR_NOMEM; a rebuild also
 * returns the iterator's OMS_ERR_CORRUPT for a malformed key. */
int replay__pass(evlog_t *log, const replay_pass_cfg_t *cfg, replay_pass_t *out);

/* The capacity hint of a rebuild (proj_reserve): after `done` of the `total` events it will
 * apply, each table that grows with the log is sized for its count so far scaled to the whole
 * log, plus an eighth. A hint only: the state holds the same records whatever it says (a wrong
 * guess costs memory or a later doubling, never a different result). Needs eng's state, which
 * the caller owns (no other thread may use the engine meanwhile); cannot fail (a refused
 * reservation leaves the table to grow as usual). */
void replay__size(oms_engine_t *eng, uint64_t done, uint64_t total);

/* The threads to use: asked (capped at REPLAY_THREADS_MAX), or when asked is 0 one per CPU this
 * process may run on, and one for a log of fewer than about a thousand events (a thread costs
 * more than it saves). */
unsigned replay__threads(unsigned asked, uint64_t events);

#endif /* OMS_REPLAY_INTERNAL_H */
