/*
 * enginefix.h - a fixture for driving the engine in tests: builds model commands tersely, runs
 * them one batch at a time (optionally appending to a real event log), and reads state back.
 */
#ifndef OMS_ENGINEFIX_H
#define OMS_ENGINEFIX_H

#include "engine.h"

#include <stdbool.h>

typedef struct {
    oms_engine_t *eng;      /* the engine under test */
    evlog_t *log;           /* NULL: no log (engine-only tests) */
    int64_t ts;             /* sequencer time, advanced 1 ms per batch */
    uint64_t n_cmd;         /* commands sent (for command ids) */
    oms_reply_t last;       /* reply to the last command */
    uint32_t last_events;   /* events the last command produced */
    oms_event_t last_ev[8]; /* copies of its first events */
    bool on_demand;         /* the engine loads from the log on demand (engine.h) */
} fx_t;

/* Starts a fixture; with dir != NULL the engine writes to an event log there and looks up
 * idempotency rows in it. */
void fx_init(fx_t *f, const char *dir);
/* The same with on-demand loading (oms_engine_opts_use_store): index rows are written, and a
 * restart (fx_restart) loads only the working orders. */
void fx_init_on_demand(fx_t *f, const char *dir);
void fx_free(fx_t *f);
/* Closes and reopens the log and loads a fresh engine from its rows (a restart). */
void fx_restart(fx_t *f, const char *dir);

/* Runs one command as its own batch; returns the reply status. The command gets
 * command_id "c<n>" unless it already has one, and principal `who`. */
oms_reply_status_t fx_run(fx_t *f, const char *who, oms_cmd_t *cmd);
/* Runs n commands as one batch; replies into out (n entries). Returns the events appended. */
uint32_t fx_run_batch(fx_t *f, oms_cmd_t *cmds, uint32_t n, oms_reply_t *out);

/* Decimal from text; asserts it parses. */
oms_dec_t D(const char *s);

/* Standard set-up: principals admin (ADMIN), comp (COMPLIANCE), pm and pm2
 * (PORTFOLIO_MANAGER), trader (TRADER), venue (VENUE), ops (OPERATIONS); instruments AAPL
 * (equity, lot 1, tick 0.01) and ESZ6 (future, multiplier 50, lot 1, tick 0.25); accounts
 * ACC1/ACC2/ACC3 (auto release, no short), SHORTY (auto, short allowed) and FE (four-eyes). */
void fx_setup(fx_t *f);

/* Command builders (zeroed, type set). */
oms_cmd_t fx_new_order(const char *order_id, const char *account, const char *instrument,
                       oms_side_t side, const char *qty, const char *limit_px);
oms_cmd_t fx_simple(oms_cmd_type_t type, const char *order_id);
oms_cmd_t fx_fill(const char *order_id, const char *exec_id, const char *qty, const char *px);

/* Helpers that run a command and assert its outcome. */
void fx_ok(fx_t *f, const char *who, oms_cmd_t cmd);
void fx_rejected(fx_t *f, const char *who, oms_cmd_t cmd, const char *rule);

const proj_order_t *fx_order(fx_t *f, const char *order_id);
const proj_position_t *fx_pos(fx_t *f, const char *account, const char *instrument);

/* All projection rows of the engine's state concatenated into a malloc'd buffer (for
 * byte-identical comparisons); *len receives the size. */
uint8_t *fx_rows(const oms_engine_t *eng, size_t *len);

#endif
