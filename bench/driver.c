/*
 * driver.c - the load generator of `oms-bench e2e` and `oms-bench restart`: drives orders
 * through a real omsd over the bus with DEALER sockets, keeping at most one command in flight
 * per order slot, so that every command follows its order's previous reply as a real client
 * and venue would.
 *
 * One order's life in the MIX flow (about 4.3 commands per order, the stream the engine
 * benchmark also uses):
 *   NewOrder (pm, 100 AAPL @ 190, ACC1..3) -> VenueAck -> VenueFill 40 ->
 *     7 in 10: VenueFill 60 (FILLED)     3 in 10: CancelOrder (trader) -> VenueCancelAck
 * NEW_ONLY sends NewOrders only (the orders stay open: restart and memory against open orders);
 * FILLED sends NewOrder -> VenueAck -> VenueFill 100 (history without open orders).
 *
 * Closed loop: every slot keeps one command in flight; throughput is replies per second.
 * Paced: commands are sent at a fixed rate from idle slots, and each reply's latency is
 * measured from the command's scheduled send time (so a stalled daemon cannot hide its stall:
 * no coordinated omission).
 *
 * Memory: slots and the latency array are allocated once by drv_new; nothing per command but
 * ZeroMQ's own messages. The daemon uses the demo reference data (omsd --demo-data).
 */
#include "bench.h"

#include "codec.h"

#include <errno.h>
#include <poll.h>
#include <sys/prctl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

enum {
    CMD_BUF = 1024,   /* one encoded command */
    REPLY_BUF = 4096, /* one reply frame */
};

/* Steps of an order's life. */
enum { ST_NEW, ST_ACK, ST_FILL1, ST_FILL2, ST_CANCEL, ST_CANCEL_ACK, ST_FILL_ALL, ST_DONE };

static void s_ids(const drv_t *d, uint32_t slot, char *order_id, size_t cap)
{
    snprintf(order_id, cap, "%s-%u-%u", d->run, slot, d->slots[slot].order_no);
}

/* Builds the command for the slot's current step. */
static void s_build(drv_t *d, uint32_t slot, oms_cmd_t *c)
{
    drv_slot_t *s = &d->slots[slot];
    char oid[48]; /* run (<= 23) - slot (<= 5 digits) - order (<= 10 digits) */
    s_ids(d, slot, oid, sizeof oid);
    memset(c, 0, sizeof *c);
    snprintf(c->command_id, OMS_ID_CAP, "%s-%u", oid, s->step);
    switch (s->step) {
    case ST_NEW: {
        c->type = OMS_CMD_NEW_ORDER;
        oms_strlcpy(c->principal, "pm", OMS_ID_CAP);
        oms_new_order_t *o = &c->u.new_order;
        oms_strlcpy(o->order_id, oid, OMS_ID_CAP);
        snprintf(o->account_id, OMS_ID_CAP, "ACC%u", 1 + slot % 3);
        oms_strlcpy(o->instrument_id, "AAPL", OMS_ID_CAP);
        o->side = OMS_SIDE_BUY;
        o->ord_type = OMS_ORD_LIMIT;
        o->price = (oms_opt_dec_t){true, 190 * OMS_DEC_SCALE};
        o->qty = 100 * OMS_DEC_SCALE;
        o->tif = OMS_TIF_DAY;
        break;
    }
    case ST_CANCEL:
        c->type = OMS_CMD_CANCEL_ORDER;
        oms_strlcpy(c->principal, "trader", OMS_ID_CAP);
        oms_strlcpy(c->u.cancel.order_id, oid, OMS_ID_CAP);
        snprintf(c->u.cancel.cl_ord_id, OMS_ID_CAP, "%s-c", oid);
        break;
    default: {
        oms_strlcpy(c->principal, "venue", OMS_ID_CAP);
        oms_venue_report_t *r = &c->u.report;
        oms_strlcpy(r->h.order_id, oid, OMS_ID_CAP);
        oms_strlcpy(r->h.venue, "BENCH", OMS_ID_CAP);
        snprintf(r->h.exec_id, OMS_ID_CAP, "%s-x%u", oid, s->step);
        r->last_px = 190 * OMS_DEC_SCALE;
        if (s->step == ST_ACK) {
            c->type = OMS_CMD_VENUE_ACK;
        } else if (s->step == ST_CANCEL_ACK) {
            c->type = OMS_CMD_VENUE_CANCEL_ACK;
        } else {
            c->type = OMS_CMD_VENUE_FILL;
            r->last_qty = (s->step == ST_FILL1   ? 40
                           : s->step == ST_FILL2 ? 60
                                                 : 100) *
                          OMS_DEC_SCALE;
        }
        break;
    }
    }
}

/* The step after an accepted reply. */
static int s_next(const drv_t *d, const drv_slot_t *s)
{
    switch (d->flow) {
    case DRV_NEW_ONLY:
        return ST_DONE;
    case DRV_FILLED:
        return s->step == ST_NEW ? ST_ACK : s->step == ST_ACK ? ST_FILL_ALL : ST_DONE;
    case DRV_MIX:
    default:
        switch (s->step) {
        case ST_NEW:
            return ST_ACK;
        case ST_ACK:
            return ST_FILL1;
        case ST_FILL1:
            return s->order_no % 10 < 7 ? ST_FILL2 : ST_CANCEL;
        case ST_CANCEL:
            return ST_CANCEL_ACK;
        default:
            return ST_DONE;
        }
    }
}

drv_t *drv_new(const char *cmd_ep, const char *run, drv_flow_t flow, uint32_t n_slots,
               uint32_t n_socks, size_t lat_cap)
{
    if (n_slots == 0 || n_slots > DRV_SLOTS_MAX || n_socks == 0 || n_socks > DRV_SOCKS_MAX)
        return NULL;
    drv_t *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->slots = calloc(n_slots, sizeof *d->slots);
    d->idle = calloc(n_slots, sizeof *d->idle);
    d->lat_ns = lat_cap ? calloc(lat_cap, sizeof *d->lat_ns) : NULL;
    d->ctx = zmq_ctx_new();
    if (!d->slots || !d->idle || (lat_cap && !d->lat_ns) || !d->ctx) {
        drv_destroy(&d);
        return NULL;
    }
    d->lat_cap = lat_cap;
    d->n_slots = n_slots;
    d->flow = flow;
    snprintf(d->run, sizeof d->run, "%s", run);
    for (uint32_t i = 0; i < n_slots; i++)
        d->idle[d->n_idle++] = n_slots - 1 - i;
    for (uint32_t i = 0; i < n_socks; i++) {
        void *s = zmq_socket(d->ctx, ZMQ_DEALER);
        int hwm = 0, linger = 0; /* no high-water mark: slots bound what is in flight */
        zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
        zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
        zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
        if (!s || zmq_connect(s, cmd_ep) != 0) {
            if (s)
                zmq_close(s);
            drv_destroy(&d);
            return NULL;
        }
        d->socks[d->n_socks++] = s;
    }
    return d;
}

void drv_destroy(drv_t **self_p)
{
    drv_t *d = *self_p;
    if (!d)
        return;
    for (uint32_t i = 0; i < d->n_socks; i++)
        zmq_close(d->socks[i]);
    if (d->ctx)
        zmq_ctx_term(d->ctx);
    free(d->slots);
    free(d->idle);
    free(d->lat_ns);
    free(d);
    *self_p = NULL;
}

/* Sends the slot's current step; 0 or -1. */
static int s_send(drv_t *d, uint32_t slot, int64_t sched_ns)
{
    oms_cmd_t c;
    uint8_t buf[CMD_BUF];
    size_t len = 0;
    s_build(d, slot, &c);
    if (codec_encode_command(&c, buf, sizeof buf, &len) != 0)
        return -1;
    void *sock = d->socks[slot % d->n_socks];
    if (zmq_send(sock, buf, len, 0) != (int)len)
        return -1;
    d->slots[slot].busy = true;
    d->slots[slot].sent_ns = sched_ns;
    d->in_flight++;
    d->sent++;
    return 0;
}

/* Starts the slot's next order (or next step). */
static void s_advance(drv_t *d, uint32_t slot, bool accepted)
{
    drv_slot_t *s = &d->slots[slot];
    int next = accepted ? s_next(d, s) : ST_DONE;
    if (next == ST_DONE) {
        s->order_no++;
        s->step = ST_NEW;
        d->orders_done++;
    } else {
        s->step = (uint8_t)next;
    }
}

/* Parses "<run>-<slot>-<order>-<step>" back to the slot; -1 if it is not ours. */
static int64_t s_slot_of(const drv_t *d, const char *command_id)
{
    size_t rl = strlen(d->run);
    if (strncmp(command_id, d->run, rl) != 0 || command_id[rl] != '-')
        return -1;
    char *end = NULL;
    unsigned long v = strtoul(command_id + rl + 1, &end, 10);
    if (!end || *end != '-' || v >= d->n_slots)
        return -1;
    return (int64_t)v;
}

/* Receives every reply available within timeout_ms (0: what is there now). For each: records
 * the latency (of commands sent at or after measure_from_ns), advances the slot and, in closed
 * loop, sends its next step. Returns replies handled, or -1 on a socket failure. */
static int s_pump(drv_t *d, int timeout_ms, bool closed, int64_t measure_from_ns)
{
    zmq_pollitem_t items[DRV_SOCKS_MAX];
    for (uint32_t i = 0; i < d->n_socks; i++)
        items[i] = (zmq_pollitem_t){.socket = d->socks[i], .events = ZMQ_POLLIN};
    int rc = zmq_poll(items, (int)d->n_socks, timeout_ms);
    if (rc < 0)
        return errno == EINTR ? 0 : -1;
    int handled = 0;
    uint8_t buf[REPLY_BUF];
    for (uint32_t i = 0; i < d->n_socks; i++) {
        if (!(items[i].revents & ZMQ_POLLIN))
            continue;
        for (int k = 0; k < 4096; k++) {
            int n = zmq_recv(d->socks[i], buf, sizeof buf, ZMQ_DONTWAIT);
            if (n < 0)
                break;
            int64_t now = bench_mono_ns();
            oms_reply_t r;
            if (n > (int)sizeof buf || codec_decode_reply(buf, (size_t)n, &r) != 0) {
                d->bad_replies++;
                continue;
            }
            int64_t slot = s_slot_of(d, r.command_id);
            if (slot < 0 || !d->slots[slot].busy) {
                d->bad_replies++;
                continue;
            }
            drv_slot_t *s = &d->slots[slot];
            s->busy = false;
            d->in_flight--;
            d->replies++;
            handled++;
            if (r.status == OMS_REPLY_ACCEPTED)
                d->accepted++;
            else if (r.status == OMS_REPLY_REJECTED)
                d->rejected++;
            else if (r.status == OMS_REPLY_DUPLICATE)
                d->duplicates++;
            else
                d->errors++;
            if (r.status != OMS_REPLY_ACCEPTED && d->first_problem[0] == '\0')
                snprintf(d->first_problem, sizeof d->first_problem, "%.64s: status %d %.15s %.150s",
                         r.command_id, (int)r.status, r.rule_id, r.text);
            if (s->sent_ns >= measure_from_ns && d->lat_n < d->lat_cap)
                d->lat_ns[d->lat_n++] = now - s->sent_ns;
            s_advance(d, (uint32_t)slot,
                      r.status == OMS_REPLY_ACCEPTED || r.status == OMS_REPLY_DUPLICATE);
            if (closed) {
                if (s_send(d, (uint32_t)slot, bench_mono_ns()) != 0)
                    return -1;
            } else {
                d->idle[d->n_idle++] = (uint32_t)slot;
            }
        }
    }
    return handled;
}

int drv_closed(drv_t *d, double warm_s, double secs, drv_result_t *res)
{
    memset(res, 0, sizeof *res);
    /* Fill the window. */
    while (d->n_idle) {
        uint32_t slot = d->idle[--d->n_idle];
        if (s_send(d, slot, bench_mono_ns()) != 0)
            return -1;
    }
    int64_t t0 = bench_mono_ns();
    int64_t m0 = t0 + (int64_t)(warm_s * 1e9), end = m0 + (int64_t)(secs * 1e9);
    uint64_t r0 = 0, o0 = 0;
    bool measuring = false;
    int64_t last_progress = t0;
    for (;;) {
        int64_t now = bench_mono_ns();
        if (!measuring && now >= m0) {
            measuring = true;
            r0 = d->replies;
            o0 = d->orders_done;
            m0 = now;
        }
        if (now >= end)
            break;
        int h = s_pump(d, 100, true, measuring ? m0 : INT64_MAX);
        if (h < 0)
            return -1;
        if (h > 0)
            last_progress = now;
        else if (now - last_progress > 10 * (int64_t)1000000000) {
            fprintf(stderr, "oms-bench: no reply for 10 s\n");
            return -1;
        }
    }
    int64_t t1 = bench_mono_ns();
    res->seconds = (double)(t1 - m0) / 1e9;
    res->replies = d->replies - r0;
    res->orders = d->orders_done - o0;
    res->per_s = (double)res->replies / res->seconds;
    return drv_drain(d, 30000);
}

int drv_drain(drv_t *d, int timeout_ms)
{
    int64_t end = bench_mono_ns() + (int64_t)timeout_ms * 1000000;
    while (d->in_flight > 0) {
        if (bench_mono_ns() > end)
            return -1;
        if (s_pump(d, 50, false, INT64_MAX) < 0)
            return -1;
    }
    return 0;
}

static int s_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Waits until a reply may be read from one of the driver's sockets, or until t_ns (monotonic),
 * whichever comes first, to the precision of ppoll. A sleep, or zmq_poll (whole milliseconds),
 * would notice a reply only when it ends and add that delay to every measured latency, which
 * the round-trip baseline (a blocking receive) does not pay. Each socket's ZMQ_EVENTS is read
 * before blocking on its ZMQ_FD, as libzmq requires (the fd only says "look again"); a spurious
 * wake-up is harmless, since the caller loops. 0, or -1 when a socket option cannot be read. */
static int s_wait_until(drv_t *d, int64_t t_ns)
{
    struct pollfd fds[DRV_SOCKS_MAX];
    for (uint32_t i = 0; i < d->n_socks; i++) {
        int events = 0, fd = -1;
        size_t len = sizeof events;
        if (zmq_getsockopt(d->socks[i], ZMQ_EVENTS, &events, &len) != 0)
            return -1;
        if (events & ZMQ_POLLIN)
            return 0;
        len = sizeof fd;
        if (zmq_getsockopt(d->socks[i], ZMQ_FD, &fd, &len) != 0)
            return -1;
        fds[i] = (struct pollfd){.fd = fd, .events = POLLIN};
    }
    int64_t dt = t_ns - bench_mono_ns();
    if (dt <= 0)
        return 0;
    struct timespec ts = {.tv_sec = dt / 1000000000, .tv_nsec = dt % 1000000000};
    if (ppoll(fds, d->n_socks, &ts, NULL) < 0 && errno != EINTR)
        return -1;
    return 0;
}

int drv_paced(drv_t *d, double rate, double warm_s, double secs, drv_result_t *res)
{
    memset(res, 0, sizeof *res);
    d->lat_n = 0;
    /* Wake at the scheduled send times, not up to the default 50 us of timer slack later
     * (latency counts from the schedule, so a late wake-up would be charged to the OMS). */
    (void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    int64_t interval = (int64_t)(1e9 / rate);
    if (interval < 1)
        interval = 1;
    int64_t t0 = bench_mono_ns();
    int64_t m0 = t0 + (int64_t)(warm_s * 1e9), end = m0 + (int64_t)(secs * 1e9);
    int64_t next = t0;
    uint64_t sent_measured = 0, starved = 0;
    while (next < end) {
        int64_t now = bench_mono_ns();
        while (next <= now && next < end) {
            if (d->n_idle == 0) {
                starved++; /* every slot waits for a reply: the daemon is behind */
                break;
            }
            uint32_t slot = d->idle[--d->n_idle];
            if (s_send(d, slot, next) != 0)
                return -1;
            if (next >= m0)
                sent_measured++;
            next += interval;
        }
        /* Replies of commands scheduled before m0 are warm-up: not measured. */
        if (s_pump(d, 0, false, m0) < 0)
            return -1;
        if (d->n_idle == 0) {
            if (s_pump(d, 1, false, m0) < 0)
                return -1;
        } else if (s_wait_until(d, next) != 0) {
            return -1;
        }
    }
    /* The tail's replies are measured too (they were scheduled inside the window). */
    int64_t dl = bench_mono_ns() + 30 * (int64_t)1000000000;
    while (d->in_flight > 0) {
        if (bench_mono_ns() > dl || s_pump(d, 50, false, m0) < 0)
            return -1;
    }
    res->seconds = secs;
    res->replies = sent_measured;
    res->per_s = (double)sent_measured / secs;
    res->starved = starved;
    if (d->lat_n) {
        qsort(d->lat_ns, d->lat_n, sizeof *d->lat_ns, s_cmp_i64);
        size_t n = d->lat_n;
        res->p50_us = d->lat_ns[n / 2] / 1e3;
        res->p99_us = d->lat_ns[(size_t)(n * 0.99)] / 1e3;
        res->p999_us = d->lat_ns[(size_t)(n * 0.999)] / 1e3;
        res->max_us = d->lat_ns[n - 1] / 1e3;
        res->samples = n;
    }
    return 0;
}

int drv_orders(drv_t *d, uint64_t n_orders, drv_result_t *res)
{
    memset(res, 0, sizeof *res);
    uint64_t started = 0, o0 = d->orders_done;
    int64_t t0 = bench_mono_ns(), last_progress = t0;
    /* Each slot runs orders until n_orders have been started; a slot whose order completes
     * starts the next one only while some remain (closed loop, counted). */
    while (d->n_idle && started < n_orders) {
        uint32_t slot = d->idle[--d->n_idle];
        if (s_send(d, slot, bench_mono_ns()) != 0)
            return -1;
        started++;
    }
    while (d->orders_done - o0 < n_orders) {
        int h = s_pump(d, 100, false, INT64_MAX);
        if (h < 0)
            return -1;
        int64_t now = bench_mono_ns();
        if (h > 0)
            last_progress = now;
        else if (now - last_progress > 10 * (int64_t)1000000000) {
            fprintf(stderr, "oms-bench: no reply for 10 s\n");
            return -1;
        }
        /* Idle slots now hold either a finished order (counted in orders_done) or the next
         * step of an unfinished one: send the latter always, new orders while some remain. */
        uint32_t n = d->n_idle;
        d->n_idle = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t slot = d->idle[i];
            if (d->slots[slot].step == 0) {
                if (started >= n_orders)
                    continue; /* stays idle */
                started++;
            }
            if (s_send(d, slot, now) != 0)
                return -1;
        }
    }
    /* Slots left idle go back on the stack. */
    d->n_idle = 0;
    for (uint32_t i = 0; i < d->n_slots; i++)
        if (!d->slots[i].busy)
            d->idle[d->n_idle++] = i;
    res->seconds = (double)(bench_mono_ns() - t0) / 1e9;
    res->orders = d->orders_done - o0;
    res->replies = res->orders;
    res->per_s = (double)res->orders / res->seconds;
    return 0;
}
