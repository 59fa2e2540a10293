/*
 * handlers.h - the OMS's decisions: a pure function of (state, command, sequencer time) to the
 * events that record what happened, or to one rejection event that says which rule refused
 * the command and why. No clock, network or disk is read here; the same inputs always give
 * the same events, which is what lets a replay of the log reproduce every decision.
 *
 * Rules run in a fixed order with stable rule ids (catalogue: docs/RULES.md):
 *   CMD-xxx  the command itself (decoding flags, unknown type)
 *   ENT-xxx  entitlements: principal known and active, role, four-eyes
 *   REF-xxx  reference data commands
 *   ORD-xxx  order fields and order state (transitions)
 *   PTC-xxx  pre-trade checks, in this order: instrument, account, lot, tick, restricted list,
 *            max quantity, max notional, price collar, position limit, short sale
 *   EXE-xxx  venue execution reports
 *   ALC-xxx  allocations
 *   EOD-xxx  end of day
 *
 * Entitlements are checked in one place (hnd_authorize) against the principal the command
 * carries; when the bus authenticates principals it will pass the authenticated one instead.
 */
#ifndef OMS_HANDLERS_H
#define OMS_HANDLERS_H

#include "oms_model.h"
#include "projections.h"

/* Where a handler writes its events. The caller provides the array; parts lists of allocation
 * events are allocated from `arena` (valid until the caller resets it). */
typedef struct {
    oms_event_t *events; /* output array */
    uint32_t n;          /* events written so far */
    uint32_t cap;        /* its capacity */
    oms_arena_t *arena;  /* for variable-length event parts */
} hnd_out_t;

/* The most events one command can produce, apart from EndOfDay (which expires at most
 * HND_EOD_MAX_EXPIRIES orders per command and reports when it has to be repeated). */
#define HND_MAX_EVENTS_PER_COMMAND 4
#define HND_EOD_MAX_EXPIRIES       4000

/* What the handler decided, beside the events. */
typedef enum {
    HND_APPLIED = 0, /* events record the command's effect (or its rejection) */
    HND_DUPLICATE,   /* a venue report already applied with identical content: no events */
} hnd_outcome_t;

/* Decides the events of one command against the state. Appends one or more events to out
 * (exactly one OMS_EV_COMMAND_REJECTED when a rule refuses the command) and sets *outcome.
 * Returns 0; OMS_ERR_LIMIT when out has no room for the command's events (nothing appended:
 * the caller flushes its batch and calls again); OMS_ERR_NOMEM when the arena is full.
 * `cmd` and everything it points to must stay valid while the events are used (rejections
 * point at it). */
int hnd_decide(const proj_state_t *st, const oms_cmd_t *cmd, int64_t ts_ns, hnd_out_t *out,
               hnd_outcome_t *outcome);

/* Entitlements: 0 when cmd->principal may issue a command of this type, else fills *rej
 * (rule, reason, text) and returns OMS_ERR_STATE. The one place roles are checked. */
int hnd_authorize(const proj_state_t *st, const oms_cmd_t *cmd, oms_ev_rejected_t *rej);

/* Fills a COMMAND_REJECTED event for cmd (for the engine's own refusals, e.g. an idempotency
 * conflict), with the given rule, reason and text. */
void hnd_reject_event(oms_event_t *ev, const oms_cmd_t *cmd, const char *rule_id,
                      oms_reject_reason_t reason, const char *text);

#endif /* OMS_HANDLERS_H */
