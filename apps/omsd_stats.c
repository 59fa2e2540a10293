/*
 * omsd_stats.c - the daemon's counters: written by the sequencer once per batch (one mutex
 * acquisition per batch, never per command), read by the query thread for a Stats reply. The
 * per-second rates use a ring of OMSD_RATE_WINDOW_S one-second slots; the append latency
 * percentiles use a ring of the last OMSD_LAT_RING batches, filtered to the same window. Nothing
 * allocates after init.
 */
#include "omsd.h"

#include <stdlib.h>
#include <string.h>

int omsd_stats_init(omsd_stats_t *s, uint64_t head_seq, const oms_hash_t *head_hash)
{
    memset(s, 0, sizeof *s);
    if (pthread_mutex_init(&s->mu, NULL) != 0)
        return OMS_ERR_NOMEM;
    s->started_ts_ns = oms_clock_now_ns();
    s->head_seq = head_seq;
    if (head_hash)
        s->head_hash = *head_hash;
    atomic_store(&s->head_seq_pub, head_seq);
    return 0;
}

void omsd_stats_fini(omsd_stats_t *s)
{
    pthread_mutex_destroy(&s->mu);
}

/* The rate slot of monotonic second sec, cleared if it held an older second. */
static omsd_rate_slot_t *s_slot(omsd_stats_t *s, int64_t sec)
{
    omsd_rate_slot_t *r = &s->rate[(uint64_t)sec % OMSD_RATE_WINDOW_S];
    if (r->sec != sec) {
        r->sec = sec;
        r->commands = 0;
        r->events = 0;
    }
    return r;
}

void omsd_stats_batch(omsd_stats_t *s, uint32_t n_cmds, uint32_t n_events, uint32_t append_us,
                      uint64_t head_seq, const oms_hash_t *head_hash, const oms_reply_t *replies)
{
    uint64_t rejects = 0, dups = 0, errors = 0;
    int64_t now = oms_clock_mono_ns();
    pthread_mutex_lock(&s->mu);
    for (uint32_t i = 0; i < n_cmds; i++) {
        const oms_reply_t *r = &replies[i];
        if (r->status == OMS_REPLY_REJECTED) {
            rejects++;
            if ((unsigned)r->reject_reason < OMSD_REASONS)
                s->rejects_by_reason[r->reject_reason]++;
        } else if (r->status == OMS_REPLY_DUPLICATE) {
            dups++;
        } else if (r->status == OMS_REPLY_ERROR) {
            errors++;
        }
    }
    s->rejects_total += rejects;
    s->duplicates_total += dups;
    s->errors_total += errors;
    s->commands_total += n_cmds;
    s->events_total += n_events;
    s->batches_total++;
    s->batch_commands_sum += n_cmds;
    s->batch_commands_last = n_cmds;
    if (n_cmds > s->batch_commands_max)
        s->batch_commands_max = n_cmds;
    if (n_events > s->batch_events_max)
        s->batch_events_max = n_events;
    omsd_rate_slot_t *r = s_slot(s, now / 1000000000LL);
    r->commands += n_cmds;
    r->events += n_events;
    if (append_us) {
        s->lat[s->lat_next] = (omsd_lat_slot_t){now, append_us};
        s->lat_next = (s->lat_next + 1) % OMSD_LAT_RING;
    }
    s->head_seq = head_seq;
    if (head_hash)
        s->head_hash = *head_hash;
    pthread_mutex_unlock(&s->mu);
    atomic_store(&s->head_seq_pub, head_seq);
}

void omsd_stats_state(omsd_stats_t *s, uint64_t orders_in_memory, uint64_t reloads)
{
    pthread_mutex_lock(&s->mu);
    s->orders_in_memory = orders_in_memory;
    s->state_reloads_total = reloads;
    pthread_mutex_unlock(&s->mu);
}

void omsd_stats_errors(omsd_stats_t *s, uint32_t n)
{
    pthread_mutex_lock(&s->mu);
    s->errors_total += n;
    pthread_mutex_unlock(&s->mu);
}

static int s_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

void omsd_stats_view(omsd_stats_t *s, omsd_stats_view_t *v)
{
    uint32_t lat[OMSD_LAT_RING]; /* 16 KiB of stack */
    memset(v, 0, sizeof *v);
    int64_t now = oms_clock_mono_ns();
    int64_t sec = now / 1000000000LL;
    int64_t window_ns = (int64_t)OMSD_RATE_WINDOW_S * 1000000000LL;
    uint32_t n_lat = 0;
    uint64_t cmds = 0, evs = 0;
    pthread_mutex_lock(&s->mu);
    v->started_ts_ns = s->started_ts_ns;
    v->head_seq = s->head_seq;
    v->head_hash = s->head_hash;
    v->commands_total = s->commands_total;
    v->events_total = s->events_total;
    v->batches_total = s->batches_total;
    v->batch_commands_last = s->batch_commands_last;
    v->batch_commands_max = s->batch_commands_max;
    v->batch_events_max = s->batch_events_max;
    v->commands_per_batch_mean_e3 =
        s->batches_total ? s->batch_commands_sum * 1000 / s->batches_total : 0;
    v->rejects_total = s->rejects_total;
    memcpy(v->rejects_by_reason, s->rejects_by_reason, sizeof v->rejects_by_reason);
    v->errors_total = s->errors_total;
    v->duplicates_total = s->duplicates_total;
    v->orders_in_memory = s->orders_in_memory;
    v->state_reloads_total = s->state_reloads_total;
    /* The window: the last OMSD_RATE_WINDOW_S whole seconds before the current one. */
    for (int i = 0; i < OMSD_RATE_WINDOW_S; i++) {
        const omsd_rate_slot_t *r = &s->rate[i];
        if (r->sec < sec && r->sec >= sec - OMSD_RATE_WINDOW_S) {
            cmds += r->commands;
            evs += r->events;
        }
    }
    for (uint32_t i = 0; i < OMSD_LAT_RING; i++)
        if (s->lat[i].us && now - s->lat[i].mono_ns <= window_ns)
            lat[n_lat++] = s->lat[i].us;
    pthread_mutex_unlock(&s->mu);
    v->window_ns = window_ns;
    v->commands_per_s = cmds / OMSD_RATE_WINDOW_S;
    v->events_per_s = evs / OMSD_RATE_WINDOW_S;
    if (n_lat) {
        qsort(lat, n_lat, sizeof lat[0], s_cmp_u32);
        v->append_latency_us_p50 = lat[(n_lat - 1) / 2];
        v->append_latency_us_p99 = lat[(uint64_t)(n_lat - 1) * 99 / 100];
    }
}
