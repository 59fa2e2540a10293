/*
 * venue_sim.c - `oms-venue-sim`: a simulated execution venue. It follows omsd's event stream
 * with the Clone-pattern subscriber (bus_sub_*), sees the orders released to execution
 * (OrderAccepted with status PENDING_NEW, OrderReleased) and answers on the command endpoint
 * (bus_submit, principal "venue") the way a venue would: VenueAck (or VenueReject for a
 * deterministic share of orders), then VenueFill in slices until the order is filled; it
 * answers CancelRequested with VenueCancelAck (VenueCancelReject when nothing is left) and
 * ReplaceRequested with VenueReplaceAck, then fills up to the new quantity at the new price.
 *
 * The event stream is the only source of truth: an order's terms, status, cum and the fills
 * this venue already made are read from events, never from the simulator's own replies. Every
 * command has a deterministic id and deterministic bytes ("<venue>-<order>-ack",
 * "<venue>-<order>-f<n>", ...; client time 0, the venue's transact time = the triggering event's
 * sequencer time), so a restart from seq 0, or a retry, gets DUPLICATE and never fills twice.
 * After a command is answered, the order waits until the subscriber has processed the reply's
 * last seq before anything else is decided for it; a simulator that is still catching up
 * (neither idle nor receiving live events) decides nothing.
 *
 * Load: one decode per event; a linear scan of the working orders per loop turn (bounded by
 * --max-orders). Memory: a fixed order table and instrument table allocated at start.
 */
#include "bus.h"
#include "codec.h"
#include "oms_core.h"
#include "oms_model.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
    VS_MAX_ORDERS_DEFAULT = 10000, /* orders tracked at once (open work) */
    VS_MAX_ORDERS_MAX = 1 << 20,   /* most --max-orders may be */
    VS_INSTRUMENTS = 4096,         /* instruments remembered (lot, reference price) */
    VS_LOOP_MS = 100,              /* longest wait per loop turn: how soon a stop is seen */
    VS_REJECTS_MAX = 3,            /* refused commands per order before giving up on it */
    VS_ARENA_BYTES = 256 * 1024,   /* scratch for one decoded event's lists */
    VS_BACKOFF_MS = 1000,          /* wait after the daemon did not answer */
    VS_DELAY_MS_MAX = 3600 * 1000, /* longest --ack-delay-ms / --fill-delay-ms */
    VS_SLICES_MAX = 1000,          /* most --slices */
};

typedef enum { VS_ERROR = 0, VS_WARN, VS_INFO, VS_DEBUG } vs_level_t;

/* Settings from the command line. */
typedef struct {
    char cmd_ep[BUS_ENDPOINT_CAP];   /* omsd's command endpoint */
    char pub_ep[BUS_ENDPOINT_CAP];   /* its event PUB */
    char query_ep[BUS_ENDPOINT_CAP]; /* its catch-up/query endpoint */
    char venue[OMS_ID_CAP];          /* venue id in every report */
    char principal[OMS_ID_CAP];      /* principal of every command */
    int ack_delay_ms;                /* from release / request to the answer */
    int fill_delay_ms;               /* between fills */
    uint32_t slices;                 /* fills per order (when fill_qty is not set) */
    oms_dec_t fill_qty;              /* fixed fill size; 0 = qty / slices */
    oms_opt_dec_t px;                /* fixed fill price; absent = limit or reference price */
    uint32_t reject_ppm;             /* share of orders rejected, parts per million */
    uint64_t seed;                   /* of the reject decision */
    uint64_t from_seq;               /* first seq of interest (0 = the start) */
    uint32_t max_orders;             /* order table size */
    int timeout_ms;                  /* per command attempt */
    int retries;                     /* Lazy Pirate retries */
    vs_level_t level;                /* log level */
} vs_config_t;

/* One order the venue may have to work. */
typedef struct {
    bool used;                      /* slot in use */
    char order_id[OMS_ID_CAP];      /* the OMS order id */
    char instrument_id[OMS_ID_CAP]; /* what */
    oms_ord_type_t ord_type;        /* market or limit */
    oms_opt_dec_t price;            /* limit price in force */
    oms_dec_t qty;                  /* quantity in force */
    oms_dec_t cum;                  /* filled so far */
    oms_ord_status_t status;        /* as of the last event */
    char pending_cl[OMS_ID_CAP];    /* pending cancel/replace's ClOrdID */
    uint32_t fills;                 /* this venue's fills seen (numbering of exec ids) */
    bool foreign;                   /* acked by another venue: not ours */
    int64_t ts_ns;                  /* sequencer time of the last event (transact time) */
    int64_t due_mono_ns;            /* when the next action is due */
    uint64_t wait_seq;              /* no decision before the subscriber processed this seq */
    uint32_t refused;               /* commands refused for this order */
    uint32_t active_pos;            /* its place in vs_t.active */
} vs_order_t;

typedef struct {
    char id[OMS_ID_CAP]; /* instrument id ("" = free slot) */
    oms_dec_t lot;       /* lot size */
    oms_opt_dec_t ref;   /* reference price */
} vs_instr_t;

typedef struct {
    vs_config_t cfg;       /* settings */
    bus_client_t *client;  /* commands and startup queries */
    bus_sub_t *sub;        /* the event stream */
    oms_arena_t arena;     /* decode scratch */
    vs_order_t *orders;    /* cfg.max_orders slots */
    uint32_t n_orders;     /* slots in use */
    uint32_t *active;      /* the slots in use, densely (n_orders of them) */
    uint32_t *free_slots;  /* a stack of the free slots (max_orders - n_orders of them) */
    uint32_t *index;       /* order id -> slot + 1: open addressing; 0 empty, S_TOMB deleted */
    uint32_t index_cap;    /* its size: a power of two >= 2 x max_orders */
    uint32_t tombs;        /* deleted entries in index (rebuilt past a quarter) */
    int64_t next_due_ns;   /* no order is due before this (monotonic): s_act skips the scan */
    vs_instr_t *instrs;    /* VS_INSTRUMENTS slots */
    bool ready;            /* caught up: decisions allowed */
    uint64_t sent;         /* commands answered ACCEPTED */
    uint64_t duplicates;   /* answered DUPLICATE */
    uint64_t refused;      /* answered REJECTED or ERROR */
    int64_t backoff_until; /* monotonic ns: no command before (daemon did not answer) */
} vs_t;

static volatile sig_atomic_t s_stop = 0;
static vs_level_t s_level = VS_INFO;

/* SIGTERM/SIGINT: asks the loop to stop (it notices within VS_LOOP_MS). */
static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

/* One log line on stderr: "<UTC> oms-venue-sim[pid] LEVEL message". Never fails. */
__attribute__((format(printf, 2, 3))) static void s_log(vs_level_t level, const char *fmt, ...)
{
    if (level > s_level)
        return;
    static const char *const names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    char ts[40], msg[1024];
    oms_clock_format_iso(oms_clock_now_ns(), ts, sizeof ts);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s oms-venue-sim[%d] %s %s\n", ts, (int)getpid(), names[level], msg);
}

/* ---- configuration ------------------------------------------------------------------------ */

/* Prints the usage text to f. */
static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: oms-venue-sim [options]\n"
            "\n"
            "A simulated execution venue: follows omsd's event stream and answers released\n"
            "orders with an ack and fills, cancel requests with cancel acks and replace requests\n"
            "with replace acks, through omsd's command endpoint.\n"
            "\n"
            "  --cmd-endpoint EP      omsd commands         (default tcp://127.0.0.1:7701)\n"
            "  --pub-endpoint EP      omsd events           (default tcp://127.0.0.1:7702)\n"
            "  --query-endpoint EP    omsd catch-up/queries (default tcp://127.0.0.1:7703)\n"
            "  --venue ID             venue id in the reports (default XSIM)\n"
            "  --principal ID         principal of the commands (default venue)\n"
            "  --ack-delay-ms N       release/request -> answer (default 50)\n"
            "  --fill-delay-ms N      between fills (default 100)\n"
            "  --slices N             fills per order, 1..%d (default 3)\n"
            "  --fill-qty Q           fixed fill quantity instead of qty/slices\n"
            "  --px P                 fill price (default: the limit, or the reference price\n"
            "                         for market orders)\n"
            "  --reject-rate P        share of orders rejected, 0..1 (default 0)\n"
            "  --seed N               seed of the reject decision (default 1)\n"
            "  --from-seq N           follow the log from seq N (default 0 = the start)\n"
            "  --max-orders N         orders worked at once (default %d)\n"
            "  --timeout-ms N         per command or catch-up attempt (default 2000)\n"
            "  --retries N            Lazy Pirate retries (default 2)\n"
            "  --log-level LEVEL      error, warn, info (default) or debug\n"
            "  --help                 this text\n"
            "\n"
            "Restarts are safe: command and exec ids are deterministic (<venue>-<order>-ack,\n"
            "-f<n>, -cxl-<clordid>, ...), so what was already done is answered DUPLICATE.\n"
            "Stops on SIGTERM or SIGINT with exit status 0; 2 on bad usage; 1 on a failure.\n",
            VS_SLICES_MAX, VS_MAX_ORDERS_DEFAULT);
}

/* A whole number 0..max from s into *out; 0, or -1 for anything else (*out untouched). */
static int s_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || !*s)
        return -1;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || s[0] == '-' || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Copies src into dst[cap]; -1 when src is empty or does not fit. */
static int s_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n == 0 || n >= cap)
        return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

/* Parses argv into *c. 0, 1 for --help, -1 with the reason in err for bad usage. */
static int s_config(int argc, char **argv, vs_config_t *c, char *err, size_t cap)
{
    memset(c, 0, sizeof *c);
    strcpy(c->cmd_ep, "tcp://127.0.0.1:7701");
    strcpy(c->pub_ep, "tcp://127.0.0.1:7702");
    strcpy(c->query_ep, "tcp://127.0.0.1:7703");
    strcpy(c->venue, "XSIM");
    strcpy(c->principal, "venue");
    c->ack_delay_ms = 50;
    c->fill_delay_ms = 100;
    c->slices = 3;
    c->seed = 1;
    c->max_orders = VS_MAX_ORDERS_DEFAULT;
    c->timeout_ms = 2000;
    c->retries = 2;
    c->level = VS_INFO;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return 1;
        if (strncmp(a, "--", 2) != 0) {
            snprintf(err, cap, "unexpected argument '%s'", a);
            return -1;
        }
        if (i + 1 >= argc) {
            snprintf(err, cap, "%s needs a value", a);
            return -1;
        }
        const char *v = argv[++i];
        uint64_t u = 0;
        int bad = 0;
        if (strcmp(a, "--cmd-endpoint") == 0) {
            bad = s_copy(c->cmd_ep, sizeof c->cmd_ep, v);
        } else if (strcmp(a, "--pub-endpoint") == 0) {
            bad = s_copy(c->pub_ep, sizeof c->pub_ep, v);
        } else if (strcmp(a, "--query-endpoint") == 0) {
            bad = s_copy(c->query_ep, sizeof c->query_ep, v);
        } else if (strcmp(a, "--venue") == 0) {
            bad = s_copy(c->venue, sizeof c->venue, v) || strchr(v, '/') != NULL;
        } else if (strcmp(a, "--principal") == 0) {
            bad = s_copy(c->principal, sizeof c->principal, v);
        } else if (strcmp(a, "--ack-delay-ms") == 0) {
            bad = s_parse_u64(v, VS_DELAY_MS_MAX, &u);
            c->ack_delay_ms = (int)u;
        } else if (strcmp(a, "--fill-delay-ms") == 0) {
            bad = s_parse_u64(v, VS_DELAY_MS_MAX, &u);
            c->fill_delay_ms = (int)u;
        } else if (strcmp(a, "--slices") == 0) {
            bad = s_parse_u64(v, VS_SLICES_MAX, &u) || u == 0;
            c->slices = (uint32_t)u;
        } else if (strcmp(a, "--fill-qty") == 0) {
            bad = oms_dec_parse_cstr(v, &c->fill_qty) != 0 || c->fill_qty <= 0;
        } else if (strcmp(a, "--px") == 0) {
            bad = oms_dec_parse_cstr(v, &c->px.v) != 0 || c->px.v <= 0;
            c->px.set = true;
        } else if (strcmp(a, "--reject-rate") == 0) {
            oms_dec_t p = 0;
            bad = oms_dec_parse_cstr(v, &p) != 0 || p < 0 || p > OMS_DEC_SCALE;
            c->reject_ppm = (uint32_t)(p / 100); /* 10^8 scale -> parts per million */
        } else if (strcmp(a, "--seed") == 0) {
            bad = s_parse_u64(v, UINT64_MAX, &c->seed);
        } else if (strcmp(a, "--from-seq") == 0) {
            bad = s_parse_u64(v, UINT64_MAX, &c->from_seq);
        } else if (strcmp(a, "--max-orders") == 0) {
            bad = s_parse_u64(v, VS_MAX_ORDERS_MAX, &u) || u == 0;
            c->max_orders = (uint32_t)u;
        } else if (strcmp(a, "--timeout-ms") == 0) {
            bad = s_parse_u64(v, BUS_TIMEOUT_MS_MAX, &u) || u == 0;
            c->timeout_ms = (int)u;
        } else if (strcmp(a, "--retries") == 0) {
            bad = s_parse_u64(v, BUS_RETRIES_MAX, &u);
            c->retries = (int)u;
        } else if (strcmp(a, "--log-level") == 0) {
            static const char *const names[] = {"error", "warn", "info", "debug"};
            bad = 1;
            for (int k = 0; k < 4; k++)
                if (strcmp(v, names[k]) == 0) {
                    c->level = (vs_level_t)k;
                    bad = 0;
                }
        } else {
            snprintf(err, cap, "unknown flag '%s'", a);
            return -1;
        }
        if (bad) {
            snprintf(err, cap, "bad value for %s: '%s'", a, v);
            return -1;
        }
    }
    return 0;
}

/* ---- tables --------------------------------------------------------------------------------- */

/* FNV-1a of a string, continuing from h (ids and the reject decision: stable across runs). */
static uint64_t s_fnv(const char *s, uint64_t h)
{
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

/* splitmix64 finaliser: spreads the bits of z. */
static uint64_t s_mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

#define S_TOMB UINT32_MAX

/* Where order_id is, or would go, in the index: the slot of its entry, else the first free
 * (empty or deleted) position met; probing is bounded by index_cap. *found says which. */
static uint32_t s_probe(const vs_t *v, const char *order_id, bool *found)
{
    uint32_t mask = v->index_cap - 1, h = (uint32_t)s_fnv(order_id, 1469598103934665603ull);
    uint32_t first_free = UINT32_MAX;
    *found = false;
    for (uint32_t k = 0; k < v->index_cap; k++) {
        uint32_t at = (h + k) & mask, e = v->index[at];
        if (e == 0)
            return first_free != UINT32_MAX ? first_free : at;
        if (e == S_TOMB) {
            if (first_free == UINT32_MAX)
                first_free = at;
        } else if (strcmp(v->orders[e - 1].order_id, order_id) == 0) {
            *found = true;
            return at;
        }
    }
    return first_free; /* full of entries and tombstones: never (rebuilt at a quarter) */
}

/* Re-inserts every order in use into a clean index (drops the tombstones). */
static void s_reindex(vs_t *v)
{
    memset(v->index, 0, sizeof *v->index * v->index_cap);
    v->tombs = 0;
    for (uint32_t i = 0; i < v->n_orders; i++) {
        bool found;
        uint32_t at = s_probe(v, v->orders[v->active[i]].order_id, &found);
        v->index[at] = v->active[i] + 1;
    }
}

/* The order's slot, or NULL; with create, a new zeroed slot for it (NULL when all
 * --max-orders slots are in use: the caller logs it and ignores the order). */
static vs_order_t *s_order(vs_t *v, const char *order_id, bool create)
{
    bool found;
    uint32_t at = s_probe(v, order_id, &found);
    if (found)
        return &v->orders[v->index[at] - 1];
    if (!create || v->n_orders >= v->cfg.max_orders || at == UINT32_MAX)
        return NULL;
    uint32_t slot = v->free_slots[v->cfg.max_orders - v->n_orders - 1];
    vs_order_t *o = &v->orders[slot];
    memset(o, 0, sizeof *o);
    o->used = true;
    oms_strlcpy(o->order_id, order_id, OMS_ID_CAP);
    o->active_pos = v->n_orders;
    v->active[v->n_orders++] = slot;
    if (v->index[at] == S_TOMB)
        v->tombs--;
    v->index[at] = slot + 1;
    return o;
}

/* Frees an order's slot (its work is over): out of the index and the active list. */
static void s_forget(vs_t *v, vs_order_t *o)
{
    bool found;
    uint32_t at = s_probe(v, o->order_id, &found);
    uint32_t slot = (uint32_t)(o - v->orders);
    if (found) {
        v->index[at] = S_TOMB;
        v->tombs++;
    }
    uint32_t last = v->active[--v->n_orders];
    v->active[o->active_pos] = last;
    v->orders[last].active_pos = o->active_pos;
    v->free_slots[v->cfg.max_orders - v->n_orders - 1] = slot;
    o->used = false;
    if (v->tombs > v->index_cap / 4)
        s_reindex(v);
}

/* The instrument's slot (open addressing), or NULL; with create a new one (lot 1, no
 * reference price), NULL when all VS_INSTRUMENTS slots are taken. */
static vs_instr_t *s_instr(vs_t *v, const char *id, bool create)
{
    uint32_t h = (uint32_t)(s_fnv(id, 1469598103934665603ull) % VS_INSTRUMENTS);
    for (uint32_t k = 0; k < VS_INSTRUMENTS; k++) {
        vs_instr_t *x = &v->instrs[(h + k) % VS_INSTRUMENTS];
        if (x->id[0] == '\0') {
            if (!create)
                return NULL;
            oms_strlcpy(x->id, id, OMS_ID_CAP);
            x->lot = OMS_DEC_SCALE;
            return x;
        }
        if (strcmp(x->id, id) == 0)
            return x;
    }
    return NULL;
}

/* ---- the event stream ----------------------------------------------------------------------- */

/* Arms the order's next decision delay_ms from now. */
static void s_due(vs_t *v, vs_order_t *o, int delay_ms)
{
    o->due_mono_ns = oms_clock_mono_ns() + (int64_t)delay_ms * 1000000;
    if (o->due_mono_ns < v->next_due_ns)
        v->next_due_ns = o->due_mono_ns;
}

/* Applies one event to the tables. Events about orders the venue does not track are ignored. */
static void s_on_event(vs_t *v, const oms_event_t *ev, int64_t ts_ns)
{
    const vs_config_t *c = &v->cfg;
    vs_order_t *o = NULL;
    switch (ev->type) {
    case OMS_EV_INSTRUMENT_DEFINED:
    case OMS_EV_INSTRUMENT_UPDATED: {
        vs_instr_t *x = s_instr(v, ev->u.instrument.instrument_id, true);
        if (x)
            x->lot = ev->u.instrument.lot_size;
        return;
    }
    case OMS_EV_REFERENCE_PRICE_SET: {
        vs_instr_t *x = s_instr(v, ev->u.ref_price.instrument_id, true);
        if (x)
            x->ref = (oms_opt_dec_t){true, ev->u.ref_price.price};
        return;
    }
    case OMS_EV_ORDER_ACCEPTED: {
        const oms_new_order_t *n = &ev->u.accepted.order;
        o = s_order(v, n->order_id, true);
        if (!o) {
            s_log(VS_WARN, "order table full (%u): order %s ignored", c->max_orders, n->order_id);
            return;
        }
        oms_strlcpy(o->instrument_id, n->instrument_id, OMS_ID_CAP);
        o->ord_type = n->ord_type;
        o->price = n->price;
        o->qty = n->qty;
        o->status = ev->u.accepted.status;
        o->ts_ns = ts_ns;
        s_due(v, o, c->ack_delay_ms);
        s_log(VS_DEBUG, "order %s accepted (%s)", o->order_id, oms_status_name(o->status));
        return;
    }
    case OMS_EV_ORDER_RELEASED:
        o = s_order(v, ev->u.released.order_id, false);
        if (o) {
            o->status = ev->u.released.status;
            o->ts_ns = ts_ns;
            s_due(v, o, c->ack_delay_ms);
        }
        return;
    case OMS_EV_CANCEL_REQUESTED:
    case OMS_EV_REPLACE_REQUESTED:
        o = s_order(v, ev->u.request.order_id, false);
        if (o) {
            o->status = ev->u.request.status;
            oms_strlcpy(o->pending_cl, ev->u.request.cl_ord_id, OMS_ID_CAP);
            o->ts_ns = ts_ns;
            s_due(v, o, c->ack_delay_ms);
        }
        return;
    case OMS_EV_ORDER_ACKNOWLEDGED:
    case OMS_EV_ORDER_REJECTED_BY_VENUE:
    case OMS_EV_ORDER_CANCELED:
    case OMS_EV_CANCEL_REJECTED:
    case OMS_EV_ORDER_REPLACED:
    case OMS_EV_REPLACE_REJECTED:
    case OMS_EV_ORDER_EXPIRED:
    case OMS_EV_ORDER_DONE_FOR_DAY:
    case OMS_EV_ORDER_FILLED:
    case OMS_EV_TRADE_BUSTED:
    case OMS_EV_TRADE_CORRECTED: {
        const oms_ev_order_t *e = &ev->u.order;
        o = s_order(v, e->h.order_id, false);
        if (!o)
            return;
        bool ours = strcmp(e->h.venue, c->venue) == 0;
        if (ev->type == OMS_EV_ORDER_ACKNOWLEDGED && !ours)
            o->foreign = true;
        o->status = e->status;
        o->ts_ns = ts_ns;
        if (ev->type == OMS_EV_ORDER_FILLED || ev->type == OMS_EV_TRADE_BUSTED ||
            ev->type == OMS_EV_TRADE_CORRECTED || ev->type == OMS_EV_ORDER_REPLACED)
            o->cum = e->cum_qty;
        if (ev->type == OMS_EV_ORDER_FILLED && ours)
            o->fills++;
        if (ev->type == OMS_EV_ORDER_REPLACED) {
            o->qty = e->qty;
            if (e->price.set)
                o->price = e->price;
        }
        if (ev->type == OMS_EV_CANCEL_REJECTED || ev->type == OMS_EV_REPLACE_REJECTED ||
            ev->type == OMS_EV_ORDER_REPLACED)
            o->pending_cl[0] = '\0';
        s_due(v, o,
              ev->type == OMS_EV_ORDER_FILLED || ev->type == OMS_EV_ORDER_ACKNOWLEDGED ||
                      ev->type == OMS_EV_ORDER_REPLACED
                  ? c->fill_delay_ms
                  : c->ack_delay_ms);
        if (oms_status_is_terminal(o->status) || o->status == OMS_ST_DONE_FOR_DAY) {
            s_log(VS_DEBUG, "order %s done (%s)", o->order_id, oms_status_name(o->status));
            s_forget(v, o);
        }
        return;
    }
    default:
        return;
    }
}

/* ---- decisions ------------------------------------------------------------------------------ */

/* A deterministic id "<venue>-<order>-<suffix>", or "<venue>-h<hash of order>-<suffix>" when
 * that is over OMS_LIMIT_ID_LEN. */
static void s_make_id(const vs_t *v, const char *order_id, const char *suffix, char out[OMS_ID_CAP])
{
    int n = snprintf(out, OMS_ID_CAP, "%s-%s-%s", v->cfg.venue, order_id, suffix);
    if (n >= 0 && n < OMS_ID_CAP)
        return;
    snprintf(out, OMS_ID_CAP, "%.20s-h%016llx%016llx", v->cfg.venue,
             (unsigned long long)s_fnv(order_id, 1469598103934665603ull),
             (unsigned long long)s_fnv(suffix, 1469598103934665603ull));
}

/* Builds the command for the order's next action into *cmd; false when there is none. */
static bool s_decide(vs_t *v, vs_order_t *o, oms_cmd_t *cmd)
{
    const vs_config_t *c = &v->cfg;
    memset(cmd, 0, sizeof *cmd);
    oms_venue_report_t *r = &cmd->u.report;
    char suffix[OMS_ID_CAP];
    switch (o->status) {
    case OMS_ST_PENDING_NEW: {
        uint64_t h = s_mix(s_fnv(o->order_id, 1469598103934665603ull) ^ s_mix(c->seed));
        bool reject = c->reject_ppm > 0 && (h % 1000000u) < c->reject_ppm;
        cmd->type = reject ? OMS_CMD_VENUE_REJECT : OMS_CMD_VENUE_ACK;
        strcpy(suffix, reject ? "rej" : "ack");
        if (reject)
            oms_strlcpy(r->text, "simulated venue reject", OMS_TEXT_CAP);
        break;
    }
    case OMS_ST_NEW:
    case OMS_ST_PARTIALLY_FILLED: {
        if (o->cum >= o->qty)
            return false;
        oms_dec_t leaves = o->qty - o->cum, lot = OMS_DEC_SCALE, q = c->fill_qty;
        const vs_instr_t *x = s_instr(v, o->instrument_id, false);
        if (x && x->lot > 0)
            lot = x->lot;
        if (q <= 0) {
            /* qty / slices rounded up to whole lots */
            oms_dec_t lots = o->qty / lot + (o->qty % lot != 0);
            oms_dec_t per = (lots + (oms_dec_t)c->slices - 1) / (oms_dec_t)c->slices;
            q = (per < 1 ? 1 : per) * lot;
        }
        if (q > leaves)
            q = leaves;
        oms_opt_dec_t px = c->px;
        if (!px.set && o->ord_type == OMS_ORD_LIMIT)
            px = o->price;
        if (!px.set && x)
            px = x->ref;
        cmd->type = OMS_CMD_VENUE_FILL;
        if (!px.set) {
            s_log(VS_WARN, "order %s: no price to fill at (no limit, no reference price)",
                  o->order_id);
            return false;
        }
        r->last_qty = q;
        r->last_px = px.v;
        snprintf(suffix, sizeof suffix, "f%u", o->fills + 1);
        break;
    }
    case OMS_ST_PENDING_CANCEL: {
        bool done = o->cum >= o->qty;
        cmd->type = done ? OMS_CMD_VENUE_CANCEL_REJECT : OMS_CMD_VENUE_CANCEL_ACK;
        snprintf(suffix, sizeof suffix, "%s-%.40s", done ? "cxlrej" : "cxl", o->pending_cl);
        oms_strlcpy(r->h.cl_ord_id, o->pending_cl, OMS_ID_CAP);
        if (done)
            oms_strlcpy(r->text, "too late to cancel: filled", OMS_TEXT_CAP);
        break;
    }
    case OMS_ST_PENDING_REPLACE:
        cmd->type = OMS_CMD_VENUE_REPLACE_ACK;
        snprintf(suffix, sizeof suffix, "rpl-%.40s", o->pending_cl);
        oms_strlcpy(r->h.cl_ord_id, o->pending_cl, OMS_ID_CAP);
        break;
    default:
        return false;
    }
    s_make_id(v, o->order_id, suffix, cmd->command_id);
    oms_strlcpy(cmd->principal, c->principal, OMS_ID_CAP);
    oms_strlcpy(r->h.order_id, o->order_id, OMS_ID_CAP);
    oms_strlcpy(r->h.venue, c->venue, OMS_ID_CAP);
    oms_strlcpy(r->h.exec_id, cmd->command_id, OMS_ID_CAP);
    s_make_id(v, o->order_id, "v", r->h.venue_order_id);
    r->h.transact_ts_ns = o->ts_ns;
    return true;
}

/* Sends the due actions (at most one per order per turn). Returns the time to the next due
 * action in ms (capped at VS_LOOP_MS). */
static int s_act(vs_t *v)
{
    int64_t now = oms_clock_mono_ns();
    int64_t next = now + (int64_t)VS_LOOP_MS * 1000000;
    if (!v->ready || now < v->backoff_until)
        return VS_LOOP_MS;
    if (now < v->next_due_ns) { /* nothing due: no scan */
        int64_t left = (v->next_due_ns - now) / 1000000;
        return left < 1 ? 1 : left > VS_LOOP_MS ? VS_LOOP_MS : (int)left;
    }
    uint64_t pos = bus_sub_last_seq(v->sub);
    /* Backwards: s_forget never happens here, and new orders only come with events. */
    for (uint32_t k = v->n_orders; k-- > 0 && !s_stop;) {
        vs_order_t *o = &v->orders[v->active[k]];
        if (o->foreign || o->refused >= VS_REJECTS_MAX || o->due_mono_ns == INT64_MAX)
            continue;
        if (o->wait_seq > pos) { /* its command's events are on their way: look again soon */
            if (now + 10000000 < next)
                next = now + 10000000;
            continue;
        }
        if (o->due_mono_ns > now) {
            if (o->due_mono_ns < next)
                next = o->due_mono_ns;
            continue;
        }
        oms_cmd_t cmd;
        if (!s_decide(v, o, &cmd)) {
            o->due_mono_ns = INT64_MAX; /* nothing until the next event about it */
            continue;
        }
        oms_reply_t rep;
        int rc = bus_submit(v->client, &cmd, &rep, v->cfg.timeout_ms, v->cfg.retries);
        if (rc == OMS_ERR_INTERRUPTED)
            return VS_LOOP_MS; /* stopping; the command may or may not have been processed */
        if (rc != 0) {
            s_log(VS_ERROR, "%s for %s: %s (daemon unreachable?)", oms_cmd_type_name(cmd.type),
                  o->order_id, oms_strerror(rc));
            v->backoff_until = oms_clock_mono_ns() + (int64_t)VS_BACKOFF_MS * 1000000;
            return VS_LOOP_MS;
        }
        /* Nothing more for this order until the subscriber has processed what the command
         * appended; the events re-arm it sooner than this safety net. */
        o->wait_seq = rep.last_seq;
        o->due_mono_ns = now + (int64_t)VS_BACKOFF_MS * 1000000;
        if (o->due_mono_ns < next)
            next = o->due_mono_ns;
        switch (rep.status) {
        case OMS_REPLY_ACCEPTED:
            v->sent++;
            s_log(VS_DEBUG, "%s %s -> %s", cmd.command_id, oms_cmd_type_name(cmd.type),
                  oms_status_name(rep.ord_status));
            break;
        case OMS_REPLY_DUPLICATE:
            v->duplicates++;
            s_log(VS_DEBUG, "%s already done", cmd.command_id);
            break;
        default:
            v->refused++;
            o->refused++;
            s_log(VS_WARN, "%s %s refused: %s %s %s", cmd.command_id, oms_cmd_type_name(cmd.type),
                  rep.status == OMS_REPLY_ERROR ? oms_errname(rep.error_code) : rep.rule_id,
                  oms_reject_reason_name(rep.reject_reason), rep.text);
            if (o->refused >= VS_REJECTS_MAX)
                s_log(VS_WARN, "order %s: giving up after %u refusals", o->order_id, o->refused);
            break;
        }
    }
    /* Orders armed during the scan (the safety net below) are in next too. */
    v->next_due_ns = next;
    int64_t left = (next - oms_clock_mono_ns()) / 1000000;
    return left < 1 ? 1 : left > VS_LOOP_MS ? VS_LOOP_MS : (int)left;
}

/* Decodes one envelope and applies it. A bad event is logged and skipped (the stream goes on). */
static void s_envelope(vs_t *v, const uint8_t *env, size_t len)
{
    evlog_record_t rec;
    oms_event_t ev;
    oms_arena_reset(&v->arena);
    if (evlog_record_parse(env, len, &rec) != 0 ||
        codec_decode_event(rec.body, rec.body_len, &v->arena, &ev) != 0) {
        s_log(VS_WARN, "an event that does not decode was skipped");
        return;
    }
    s_on_event(v, &ev, rec.ts_ns);
}

/* Reads instruments' lots and reference prices (needed when following from a later seq). */
static void s_load_instruments(vs_t *v)
{
    static codec_slice_t items[OMS_LIMIT_QUERY_ROWS];
    static codec_qreply_t qr;
    codec_query_t q = {.kind = CODEC_Q_REF_DATA, .ref_kind = CODEC_REF_INSTRUMENT};
    int rc = bus_query(v->client, &q, items, OMS_LIMIT_QUERY_ROWS, &qr, v->cfg.timeout_ms,
                       v->cfg.retries);
    if (rc != 0 || qr.kind != CODEC_QR_REF_DATA) {
        s_log(VS_WARN, "could not read instruments (%s): lots default to 1",
              rc ? oms_strerror(rc) : qr.error_text);
        return;
    }
    for (uint32_t i = 0; i < qr.n_items; i++) {
        proj_instrument_t in;
        if (items[i].list != CODEC_QL_INSTRUMENTS ||
            codec_row_decode_instrument(items[i].data, items[i].len, &in) != 0)
            continue;
        vs_instr_t *x = s_instr(v, in.def.instrument_id, true);
        if (x) {
            x->lot = in.def.lot_size;
            x->ref = in.ref_px;
        }
    }
}

/* The loop: one event (or a timeout) then the due actions, until a stop request. Stream
 * errors are logged and retried (the daemon may be restarting). Returns 0. */
static int s_run(vs_t *v)
{
    int wait_ms = VS_LOOP_MS;
    bus_sub_stats_t st0, st1;
    bus_sub_stats(v->sub, &st0);
    while (!s_stop) {
        const uint8_t *env = NULL;
        size_t len = 0;
        uint64_t seq = 0;
        int rc = bus_sub_next(v->sub, &env, &len, &seq, v->ready ? wait_ms : VS_LOOP_MS);
        if (rc == 1) {
            s_envelope(v, env, len);
            bus_sub_stats(v->sub, &st1);
            if (st1.delivered_live > st0.delivered_live)
                v->ready = true; /* a live event: caught up */
            st0 = st1;
        } else if (rc == 0) {
            if (!v->ready)
                s_log(VS_INFO, "caught up at seq %llu; working %u orders",
                      (unsigned long long)bus_sub_last_seq(v->sub), v->n_orders);
            v->ready = true; /* nothing more to read: caught up */
        } else {
            if (rc == OMS_ERR_INTERRUPTED)
                continue; /* a stop request: the loop ends */
            s_log(VS_WARN, "event stream: %s; retrying", oms_strerror(rc));
            usleep(100000);
            continue;
        }
        wait_ms = s_act(v);
    }
    return 0;
}

/* Exit status 0 after a stop request, 1 when the bus or memory cannot be set up, 2 on bad
 * usage. */
int main(int argc, char **argv)
{
    static vs_t v;
    char err[512];
    int rc = s_config(argc, argv, &v.cfg, err, sizeof err);
    if (rc == 1) {
        s_usage(stdout);
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "oms-venue-sim: %s\n", err);
        s_usage(stderr);
        return 2;
    }
    s_level = v.cfg.level;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int status = 1;
    v.index_cap = 2;
    while (v.index_cap < 2 * v.cfg.max_orders)
        v.index_cap <<= 1;
    v.orders = calloc(v.cfg.max_orders, sizeof *v.orders);
    v.active = calloc(v.cfg.max_orders, sizeof *v.active);
    v.free_slots = calloc(v.cfg.max_orders, sizeof *v.free_slots);
    v.index = calloc(v.index_cap, sizeof *v.index);
    v.instrs = calloc(VS_INSTRUMENTS, sizeof *v.instrs);
    v.next_due_ns = INT64_MAX;
    if (!v.orders || !v.active || !v.free_slots || !v.index || !v.instrs ||
        oms_arena_init(&v.arena, VS_ARENA_BYTES) != 0) {
        s_log(VS_ERROR, "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < v.cfg.max_orders; i++)
        v.free_slots[i] = v.cfg.max_orders - 1 - i; /* slot 0 on top */
    uint64_t last = v.cfg.from_seq > 0 ? v.cfg.from_seq - 1 : 0;
    if ((rc = bus_client_new(NULL, v.cfg.cmd_ep, v.cfg.query_ep, &v.client)) != 0 ||
        (rc = bus_sub_new(NULL, v.cfg.pub_ep, v.cfg.query_ep, NULL, 0, last, 0, &v.sub)) != 0) {
        s_log(VS_ERROR, "cannot set up the bus: %s", oms_strerror(rc));
        goto out;
    }
    bus_sub_set_query(v.sub, v.cfg.timeout_ms, v.cfg.retries);
    /* A stop request ends a wait or a retry under way within BUS_STOP_POLL_MS, even while the
     * daemon does not answer. */
    bus_client_set_stop(v.client, &s_stop);
    bus_sub_set_stop(v.sub, &s_stop);
    s_log(VS_INFO, "venue %s as principal %s: commands %s, events %s, queries %s, from seq %llu",
          v.cfg.venue, v.cfg.principal, v.cfg.cmd_ep, v.cfg.pub_ep, v.cfg.query_ep,
          (unsigned long long)v.cfg.from_seq);
    if (v.cfg.from_seq > 1)
        s_load_instruments(&v);
    status = s_run(&v);
    s_log(VS_INFO, "stopping: %llu commands accepted, %llu duplicates, %llu refused",
          (unsigned long long)v.sent, (unsigned long long)v.duplicates,
          (unsigned long long)v.refused);
out:
    bus_sub_destroy(&v.sub);
    bus_client_destroy(&v.client);
    oms_arena_free(&v.arena);
    free(v.orders);
    free(v.active);
    free(v.free_slots);
    free(v.index);
    free(v.instrs);
    return status;
}
