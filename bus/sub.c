/*
 * sub.c - the Clone-pattern subscriber (bus.h, "the subscriber"): a SUB on omsd's event PUB
 * plus catch-up through the read endpoint, turned into one stream that holds every event
 * (matching the filters) exactly once, in seq order. Semantics are documented in bus.h.
 *
 * State: the position (last seq processed and its hash), a bounded ring of live events
 * received but not yet processed (in arrival order), the catch-up page being consumed (slices
 * of the read client's last reply), and the catch-up target (deliver up to, excluding, this
 * seq; UINT64_MAX = up to the log's head). bus_sub_next loops: page entries first, then a new
 * page while a target is set, then the ring (the next seq is delivered, older ones dropped, a
 * later one sets a target), then it waits for live events until its deadline or the probe.
 *
 * Load: a live event costs one parse and one BLAKE2b-256 of its bytes (verification); a
 * caught-up one the same plus, with account filters, a topic peek. Memory: the ring
 * (buffer x one ZeroMQ message), the slice array (OMS_LIMIT_CATCHUP_EVENTS), the reply in the
 * read client (at most CODEC_QREPLY_CAP), and with account filters the order cache.
 */
#include "bus.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

/* Live messages read from the SUB in one go (beyond them the next loop turn reads more). */
#define S_DRAIN_MAX 4096
/* Loop turns of one bus_sub_next: each one delivers, processes, fetches or waits, so this only
 * guards against a logic error spinning forever. */
#define S_TURNS_MAX (1u << 26)
/* How long to wait before asking again when the log has not caught up with a live event yet
 * (the read endpoint serves what is durable, through a reader that may lag by a moment). */
#define S_LAG_WAIT_MS 5

/* One live event waiting in the ring. */
typedef struct {
    zmq_msg_t msg; /* the envelope frame */
    uint64_t seq;  /* its seq */
} s_live_t;

/* One order -> account cache entry (direct-mapped by a hash of the order id). */
typedef struct {
    char order_id[OMS_ID_CAP]; /* "" = free */
    char account[OMS_ID_CAP];  /* the order's account ("" for a block) */
} s_acct_t;

struct bus_sub {
    void *ctx;                                  /* ZeroMQ context */
    bool own_ctx;                               /* created here */
    void *sub;                                  /* the SUB socket */
    bus_client_t *q;                            /* catch-up queries */
    bus_client_t *lookup;                       /* order queries (created on first use) */
    char query_ep[BUS_ENDPOINT_CAP];            /* for lookup */
    char topics[BUS_TOPICS_MAX][BUS_TOPIC_CAP]; /* the filters */
    size_t n_topics;                            /* their number */
    bool all;                                   /* no filter, or "" among them */
    bool accounts;                              /* some filter names an account: topics of
                                                   caught-up events need the order's account */
    uint64_t last;                              /* position: last seq processed */
    oms_hash_t last_hash;                       /* its hash (valid when have_hash) */
    bool have_hash;                             /* last_hash is known */
    bool verify;                                /* check hashes and chain */
    const volatile sig_atomic_t *stop;          /* the caller's stop flag, or NULL */
    s_live_t *ring;                             /* live events, arrival order */
    uint32_t ring_cap, ring_head, ring_n;       /* capacity, first, count */
    bool started;                               /* first bus_sub_next ran */
    zmq_msg_t cur;                              /* the live event last delivered */
    bool has_cur;                               /* cur holds one */
    codec_slice_t *items;                       /* the catch-up page's envelopes */
    codec_qreply_t *qr;                         /* the catch-up reply */
    uint32_t page;                              /* events per request */
    uint32_t cu_idx, cu_n;                      /* next entry of the page, entries */
    bool cu_more;                               /* the page's `more` */
    bool need_cu;                               /* a catch-up is under way */
    uint64_t cu_until;                          /* its target: process seqs < this */
    int64_t quiet_since_ns;                     /* last live event or finished catch-up */
    int probe_ms;                               /* silence before a probe */
    int q_timeout_ms, q_retries;                /* queries' timeout and retries */
    s_acct_t *cache;                            /* order -> account (accounts only) */
    codec_qreply_t *lookup_qr;                  /* an order query's reply */
    bus_sub_stats_t st;                         /* counters */
};

/* ---- creation ---------------------------------------------------------------------------------
 */

int bus_sub_new(void *zctx, const char *pub_endpoint, const char *query_endpoint,
                const char *const *topics, size_t n_topics, uint64_t last_seq, int rcvhwm,
                bus_sub_t **out)
{
    if (!out)
        return OMS_ERR_INVALID;
    *out = NULL;
    if (!pub_endpoint || !*pub_endpoint || !query_endpoint || !*query_endpoint ||
        strnlen(query_endpoint, BUS_ENDPOINT_CAP) >= BUS_ENDPOINT_CAP ||
        strnlen(pub_endpoint, BUS_ENDPOINT_CAP) >= BUS_ENDPOINT_CAP || n_topics > BUS_TOPICS_MAX ||
        (n_topics && !topics) || rcvhwm < 0)
        return OMS_ERR_INVALID;
    for (size_t i = 0; i < n_topics; i++)
        if (!topics[i] || strnlen(topics[i], BUS_TOPIC_CAP) >= BUS_TOPIC_CAP)
            return OMS_ERR_INVALID;
    if (oms_hash_init() != 0)
        return OMS_ERR_INVALID;

    bus_sub_t *s = calloc(1, sizeof *s);
    if (!s)
        return OMS_ERR_NOMEM;
    int rc = OMS_ERR_NOMEM;
    s->items = calloc(OMS_LIMIT_CATCHUP_EVENTS, sizeof *s->items);
    s->qr = malloc(sizeof *s->qr);
    if (!s->items || !s->qr)
        goto fail;
    memcpy(s->query_ep, query_endpoint, strlen(query_endpoint) + 1);
    s->all = n_topics == 0;
    for (size_t i = 0; i < n_topics; i++) {
        memcpy(s->topics[i], topics[i], strlen(topics[i]) + 1);
        size_t tl = strlen(topics[i]);
        if (tl == 0)
            s->all = true;
        /* "ord/X", "exc/X", "rej/X": these families' account may be an order's. */
        if (tl > 4 && (strncmp(topics[i], "ord/", 4) == 0 || strncmp(topics[i], "exc/", 4) == 0 ||
                       strncmp(topics[i], "rej/", 4) == 0))
            s->accounts = true;
    }
    s->n_topics = n_topics;
    s->last = last_seq;
    s->have_hash = last_seq == 0; /* the first envelope's prev_hash is 32 zero bytes */
    s->verify = true;
    s->ring_cap = BUS_SUB_BUFFER_DEFAULT;
    s->page = BUS_SUB_PAGE_DEFAULT;
    s->probe_ms = BUS_SUB_PROBE_MS;
    s->q_timeout_ms = BUS_QUERY_TIMEOUT_MS;
    s->q_retries = BUS_QUERY_RETRIES;
    s->need_cu = true; /* catch up from last_seq + 1 to the head first */
    s->cu_until = UINT64_MAX;
    s->cu_more = true;
    if (s->accounts && !(s->cache = calloc(BUS_ORDER_CACHE, sizeof *s->cache)))
        goto fail;

    s->ctx = zctx;
    if (!s->ctx) {
        s->ctx = zmq_ctx_new();
        s->own_ctx = true;
        if (!s->ctx) {
            rc = OMS_ERR_IO;
            goto fail;
        }
    }
    if ((rc = bus_client_new(s->ctx, NULL, query_endpoint, &s->q)) != 0)
        goto fail;
    rc = OMS_ERR_IO;
    s->sub = zmq_socket(s->ctx, ZMQ_SUB);
    if (!s->sub)
        goto fail;
    int linger = 0;
    int64_t maxmsg = BUS_MAXMSG_BYTES;
    if (zmq_setsockopt(s->sub, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(s->sub, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0 ||
        (rcvhwm > 0 && zmq_setsockopt(s->sub, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm) != 0))
        goto fail;
    /* Subscribe before connecting and before any catch-up: nothing published from now on can
     * fall between the two (the Clone pattern's order). */
    if (s->all) {
        if (zmq_setsockopt(s->sub, ZMQ_SUBSCRIBE, "", 0) != 0)
            goto fail;
    } else {
        for (size_t i = 0; i < n_topics; i++)
            if (zmq_setsockopt(s->sub, ZMQ_SUBSCRIBE, s->topics[i], strlen(s->topics[i])) != 0)
                goto fail;
    }
    if (zmq_connect(s->sub, pub_endpoint) != 0)
        goto fail;
    s->quiet_since_ns = oms_clock_mono_ns();
    *out = s;
    return 0;
fail:
    bus_sub_destroy(&s);
    return rc;
}

void bus_sub_destroy(bus_sub_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bus_sub_t *s = *self_p;
    for (uint32_t i = 0; i < s->ring_n; i++)
        zmq_msg_close(&s->ring[(s->ring_head + i) % s->ring_cap].msg);
    if (s->has_cur)
        zmq_msg_close(&s->cur);
    if (s->sub)
        zmq_close(s->sub);
    bus_client_destroy(&s->q);
    bus_client_destroy(&s->lookup);
    if (s->own_ctx && s->ctx)
        zmq_ctx_term(s->ctx);
    free(s->ring);
    free(s->items);
    free(s->qr);
    free(s->lookup_qr);
    free(s->cache);
    free(s);
    *self_p = NULL;
}

int bus_sub_set_page(bus_sub_t *s, uint32_t events)
{
    if (!s || events < 1 || events > OMS_LIMIT_CATCHUP_EVENTS)
        return OMS_ERR_INVALID;
    s->page = events;
    return 0;
}

int bus_sub_set_buffer(bus_sub_t *s, uint32_t events)
{
    if (!s || events < 1 || events > BUS_SUB_BUFFER_MAX)
        return OMS_ERR_INVALID;
    if (s->started)
        return OMS_ERR_STATE;
    s->ring_cap = events;
    return 0;
}

int bus_sub_set_probe_ms(bus_sub_t *s, int probe_ms)
{
    if (!s || probe_ms < 1 || probe_ms > BUS_TIMEOUT_MS_MAX)
        return OMS_ERR_INVALID;
    s->probe_ms = probe_ms;
    return 0;
}

int bus_sub_set_query(bus_sub_t *s, int timeout_ms, int retries)
{
    if (!s || timeout_ms < 1 || timeout_ms > BUS_TIMEOUT_MS_MAX || retries < 0 ||
        retries > BUS_RETRIES_MAX)
        return OMS_ERR_INVALID;
    s->q_timeout_ms = timeout_ms;
    s->q_retries = retries;
    return 0;
}

void bus_sub_set_verify(bus_sub_t *s, bool verify)
{
    if (s)
        s->verify = verify;
}

void bus_sub_set_stop(bus_sub_t *s, const volatile sig_atomic_t *stop)
{
    if (!s)
        return;
    s->stop = stop;
    bus_client_set_stop(s->q, stop);
    bus_client_set_stop(s->lookup, stop); /* NULL until the first lookup: set again there */
}

uint64_t bus_sub_last_seq(const bus_sub_t *s)
{
    return s ? s->last : 0;
}

void bus_sub_stats(const bus_sub_t *s, bus_sub_stats_t *out)
{
    if (s && out)
        *out = s->st;
}

/* Milliseconds left until deadline_ns (monotonic), rounded up; 0 when past. */
static long s_left_ms_sub(int64_t deadline_ns)
{
    int64_t left = deadline_ns - oms_clock_mono_ns();
    return left <= 0 ? 0 : (long)((left + 999999) / 1000000);
}

/* ---- order -> account ------------------------------------------------------------------------ */

static uint32_t s_hash_id(const char *id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < OMS_ID_CAP && id[i]; i++)
        h = (h ^ (uint8_t)id[i]) * 16777619u;
    return h % BUS_ORDER_CACHE;
}

static void s_cache_put(bus_sub_t *s, const char *order_id, const char *account)
{
    if (!s->cache || !order_id[0])
        return;
    s_acct_t *e = &s->cache[s_hash_id(order_id)];
    oms_strlcpy(e->order_id, order_id, OMS_ID_CAP);
    oms_strlcpy(e->account, account, OMS_ID_CAP);
}

/* The account of an order: from the cache, else an `order` query (unknown order: ""). 0 or
 * the query's error. */
static int s_order_account(bus_sub_t *s, const char *order_id, char account[OMS_ID_CAP])
{
    account[0] = '\0';
    if (!order_id[0] || !s->cache)
        return 0;
    s_acct_t *e = &s->cache[s_hash_id(order_id)];
    if (strcmp(e->order_id, order_id) == 0) {
        memcpy(account, e->account, OMS_ID_CAP);
        return 0;
    }
    if (!s->lookup) {
        int rc = bus_client_new(s->ctx, NULL, s->query_ep, &s->lookup);
        bus_client_set_stop(s->lookup, s->stop);
        if (rc)
            return rc;
    }
    if (!s->lookup_qr && !(s->lookup_qr = malloc(sizeof *s->lookup_qr)))
        return OMS_ERR_NOMEM;
    codec_query_t q;
    memset(&q, 0, sizeof q);
    q.kind = CODEC_Q_ORDER;
    oms_strlcpy(q.id, order_id, OMS_ID_CAP);
    codec_slice_t row[1];
    int rc = bus_query(s->lookup, &q, row, 1, s->lookup_qr, s->q_timeout_ms, s->q_retries);
    if (rc)
        return rc;
    s->st.order_lookups++;
    if (s->lookup_qr->kind == CODEC_QR_ORDERS && s->lookup_qr->n_items == 1) {
        if (codec_row_order_account(row[0].data, row[0].len, account) != 0)
            return OMS_ERR_DECODE;
    } else if (!(s->lookup_qr->kind == CODEC_QR_ERROR &&
                 s->lookup_qr->error_code == OMS_ERR_NOT_FOUND) &&
               !(s->lookup_qr->kind == CODEC_QR_ORDERS && s->lookup_qr->n_items == 0)) {
        return s->lookup_qr->kind == CODEC_QR_ERROR && s->lookup_qr->error_code < 0
                   ? s->lookup_qr->error_code
                   : OMS_ERR_DECODE;
    }
    s_cache_put(s, order_id, account);
    return 0;
}

/* Learns an order's account from a live event's topic "family/account/type" when the family's
 * account is the order's (ord, exc). */
static void s_learn_topic(bus_sub_t *s, const uint8_t *topic, size_t tlen, const evlog_record_t *r)
{
    if (!s->cache || r->order_id_len == 0 || r->order_id_len > OMS_LIMIT_ID_LEN || tlen < 5 ||
        (memcmp(topic, "ord/", 4) != 0 && memcmp(topic, "exc/", 4) != 0))
        return;
    const uint8_t *a = topic + 4, *slash = memchr(a, '/', tlen - 4);
    if (!slash || (size_t)(slash - a) > OMS_LIMIT_ID_LEN || memchr(a, 0, (size_t)(slash - a)))
        return;
    char order_id[OMS_ID_CAP], account[OMS_ID_CAP];
    memcpy(order_id, r->order_id, r->order_id_len);
    order_id[r->order_id_len] = '\0';
    memcpy(account, a, (size_t)(slash - a));
    account[slash - a] = '\0';
    if (!memchr(order_id, 0, r->order_id_len))
        s_cache_put(s, order_id, account);
}

/* ---- filters and verification ------------------------------------------------------------------
 */

/* Whether a caught-up envelope's topic matches a filter: 1, 0, or a lookup's error. */
static int s_matches(bus_sub_t *s, const uint8_t *env, size_t len)
{
    if (s->all)
        return 1;
    bus_topic_info_t info;
    if (bus_topic_info(env, len, &info) != 0)
        return 0; /* no topic this version can compute (a newer event type): not matched */
    if (info.type == OMS_EV_ORDER_ACCEPTED)
        s_cache_put(s, info.order_id, info.account);
    char fam[5];
    snprintf(fam, sizeof fam, "%s/", info.family);
    bool deeper = false;
    for (size_t i = 0; i < s->n_topics; i++) {
        size_t tl = strlen(s->topics[i]);
        if (tl <= 4 && strncmp(fam, s->topics[i], tl) == 0)
            return 1; /* a family-wide (or shorter) prefix */
        if (tl > 4 && strncmp(s->topics[i], fam, 4) == 0)
            deeper = true;
    }
    if (!deeper)
        return 0;
    char acct[OMS_ID_CAP] = "";
    if (info.account_of_order) {
        int rc = s_order_account(s, info.order_id, acct);
        if (rc)
            return rc;
    }
    char topic[BUS_TOPIC_CAP];
    if (bus_topic_format(&info, acct, topic, sizeof topic) < 0)
        return 0;
    for (size_t i = 0; i < s->n_topics; i++)
        if (strncmp(topic, s->topics[i], strlen(s->topics[i])) == 0)
            return 1;
    return 0;
}

/* Checks an envelope that should be seq s->last + 1: it parses, has that seq and, when
 * verifying, its own hash and (when known) its link to the previous one. Stores its hash in
 * *h. 0 or OMS_ERR_CORRUPT. */
static int s_check(const bus_sub_t *s, const uint8_t *env, size_t len, oms_hash_t *h)
{
    evlog_record_t r;
    if (evlog_record_parse(env, len, &r) != 0 || r.seq != s->last + 1)
        return OMS_ERR_CORRUPT;
    memcpy(h->bytes, r.hash, OMS_HASH_LEN);
    if (!s->verify)
        return 0;
    oms_hash_t got;
    oms_hash(env, r.hashed_len, &got);
    if (!oms_hash_equal(&got, h))
        return OMS_ERR_CORRUPT;
    if (s->have_hash && memcmp(r.prev_hash, s->last_hash.bytes, OMS_HASH_LEN) != 0)
        return OMS_ERR_CORRUPT;
    return 0;
}

static void s_advance(bus_sub_t *s, uint64_t seq, const oms_hash_t *h)
{
    s->last = seq;
    s->last_hash = *h;
    s->have_hash = true;
}

/* ---- live events
 * ---------------------------------------------------------------------------------- */

/* Reads whatever the SUB holds, waiting up to wait_ms for the first message, into the ring
 * (events at or below the position are dropped at once; a full ring drops the newcomer: the gap
 * it leaves is caught up later). Returns how many messages were read. */
static int s_drain(bus_sub_t *s, long wait_ms)
{
    zmq_pollitem_t it = {s->sub, 0, ZMQ_POLLIN, 0};
    int n = zmq_poll(&it, 1, wait_ms);
    if (n <= 0)
        return 0;
    int got = 0;
    for (int k = 0; k < S_DRAIN_MAX; k++) {
        zmq_msg_t topic, env;
        zmq_msg_init(&topic);
        if (zmq_msg_recv(&topic, s->sub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&topic);
            break;
        }
        got++;
        s->quiet_since_ns = oms_clock_mono_ns();
        bool more = zmq_msg_more(&topic), ok = more;
        zmq_msg_init(&env);
        if (more) {
            int rc = zmq_msg_recv(&env, s->sub, ZMQ_DONTWAIT);
            more = rc >= 0 && zmq_msg_more(&env);
            ok = rc >= 0 && !more;
        }
        for (int i = 0; more && i < 64; i++) { /* drop the rest of a malformed message */
            zmq_msg_t x;
            zmq_msg_init(&x);
            more = zmq_msg_recv(&x, s->sub, ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&x);
            zmq_msg_close(&x);
        }
        evlog_record_t r;
        s->st.live_received++;
        if (!ok || evlog_record_parse(zmq_msg_data(&env), zmq_msg_size(&env), &r) != 0) {
            s->st.live_bad++;
        } else if (r.seq <= s->last) {
            s->st.live_duplicates++;
        } else if (s->ring_n >= s->ring_cap) {
            s->st.live_dropped++;
        } else {
            s_learn_topic(s, zmq_msg_data(&topic), zmq_msg_size(&topic), &r);
            s_live_t *slot = &s->ring[(s->ring_head + s->ring_n) % s->ring_cap];
            zmq_msg_init(&slot->msg);
            zmq_msg_move(&slot->msg, &env);
            slot->seq = r.seq;
            s->ring_n++;
        }
        zmq_msg_close(&env);
        zmq_msg_close(&topic);
    }
    return got;
}

/* ---- catch-up
 * ------------------------------------------------------------------------------------- */

/* Asks for the next page: from s->last + 1, at most page events and not past the target. */
static int s_fetch(bus_sub_t *s)
{
    codec_query_t q;
    memset(&q, 0, sizeof q);
    q.kind = CODEC_Q_CATCH_UP;
    q.from_seq = s->last + 1;
    uint64_t want = s->page;
    if (s->cu_until != UINT64_MAX && s->cu_until - 1 - s->last < want)
        want = s->cu_until - 1 - s->last;
    q.max_events = (uint32_t)want;
    s->cu_idx = s->cu_n = 0;
    int rc = bus_query(s->q, &q, s->items, OMS_LIMIT_CATCHUP_EVENTS, s->qr, s->q_timeout_ms,
                       s->q_retries);
    if (rc)
        return rc;
    if (s->qr->kind == CODEC_QR_ERROR)
        return s->qr->error_code < 0 ? s->qr->error_code : OMS_ERR_DECODE;
    if (s->qr->kind != CODEC_QR_CATCH_UP)
        return OMS_ERR_DECODE;
    s->st.catchup_requests++;
    s->st.catchup_events += s->qr->n_items;
    s->cu_n = s->qr->n_items;
    s->cu_more = s->qr->more;
    return 0;
}

/* ---- the loop
 * ------------------------------------------------------------------------------------- */

int bus_sub_next(bus_sub_t *s, const uint8_t **envelope, size_t *len, uint64_t *seq, int timeout_ms)
{
    if (!s || !envelope || !len || !seq || timeout_ms < 0 || timeout_ms > BUS_TIMEOUT_MS_MAX)
        return OMS_ERR_INVALID;
    if (s->has_cur) {
        zmq_msg_close(&s->cur);
        s->has_cur = false;
    }
    if (!s->started) {
        s->ring = calloc(s->ring_cap, sizeof *s->ring);
        if (!s->ring)
            return OMS_ERR_NOMEM;
        s->started = true;
    }
    int64_t deadline = oms_clock_mono_ns() + (int64_t)timeout_ms * 1000000;
    uint32_t fetches = 0;
    for (uint32_t turn = 0; turn < S_TURNS_MAX; turn++) {
        if (s->stop && *s->stop)
            return OMS_ERR_INTERRUPTED; /* between turns the position is consistent */
        /* 1. The catch-up page in hand. */
        if (s->cu_idx < s->cu_n) {
            const codec_slice_t *e = &s->items[s->cu_idx];
            oms_hash_t h;
            if (s_check(s, e->data, e->len, &h) != 0) {
                /* Drop the page: the next call fetches it again from the position. */
                s->cu_idx = s->cu_n = 0;
                s->need_cu = true;
                s->cu_more = true;
                return OMS_ERR_CORRUPT;
            }
            int m = s_matches(s, e->data, e->len);
            if (m < 0)
                return m; /* position unchanged: this entry is looked at again next time */
            s->cu_idx++;
            s_advance(s, s->last + 1, &h);
            if (m == 0) {
                s->st.skipped_filter++;
                continue;
            }
            s->st.delivered++;
            *envelope = e->data;
            *len = e->len;
            *seq = s->last;
            return 1;
        }
        /* 2. A catch-up under way: the next page, until the target or the head. */
        if (s->need_cu) {
            bool target = s->cu_until != UINT64_MAX;
            if ((target && s->last + 1 >= s->cu_until) || (!target && !s->cu_more)) {
                s->need_cu = false;
                s->quiet_since_ns = oms_clock_mono_ns();
                continue;
            }
            if (fetches > 0 && s_left_ms_sub(deadline) == 0)
                return 0;
            s_drain(s, 0); /* keep the SUB's queue moving while we read the log */
            int rc = s_fetch(s);
            if (rc)
                return rc;
            fetches++;
            if (s->cu_n == 0) {
                if (!target) {
                    s->cu_more = false;
                    continue;
                }
                /* The log's reader has not seen the live event's predecessors yet. */
                long left = s_left_ms_sub(deadline);
                if (left == 0)
                    return 0;
                s_drain(s, left < S_LAG_WAIT_MS ? left : S_LAG_WAIT_MS);
            }
            continue;
        }
        /* 3. Live events, in arrival order. */
        if (s->ring_n > 0) {
            s_live_t *l = &s->ring[s->ring_head];
            if (l->seq <= s->last) {
                s->st.live_duplicates++;
                zmq_msg_close(&l->msg);
                s->ring_head = (s->ring_head + 1) % s->ring_cap;
                s->ring_n--;
                continue;
            }
            if (l->seq > s->last + 1) { /* missed events: catch up the range first */
                s->st.gaps++;
                s->need_cu = true;
                s->cu_until = l->seq;
                s->cu_more = true;
                continue;
            }
            zmq_msg_init(&s->cur);
            zmq_msg_move(&s->cur, &l->msg);
            zmq_msg_close(&l->msg);
            s->ring_head = (s->ring_head + 1) % s->ring_cap;
            s->ring_n--;
            oms_hash_t h;
            const uint8_t *d = zmq_msg_data(&s->cur);
            size_t n = zmq_msg_size(&s->cur);
            if (s_check(s, d, n, &h) != 0) { /* read this one from the log instead */
                zmq_msg_close(&s->cur);
                s->st.live_bad++;
                s->need_cu = true;
                s->cu_until = s->last + 2;
                s->cu_more = true;
                continue;
            }
            s_advance(s, s->last + 1, &h);
            s->has_cur = true;
            s->st.delivered++;
            s->st.delivered_live++;
            *envelope = d;
            *len = n;
            *seq = s->last;
            return 1;
        }
        /* 4. Wait for live events, or probe the tail after a silence. */
        int64_t now = oms_clock_mono_ns();
        int64_t probe_at = s->quiet_since_ns + (int64_t)s->probe_ms * 1000000;
        if (now >= probe_at) {
            s->st.probes++;
            s->need_cu = true;
            s->cu_until = UINT64_MAX;
            s->cu_more = true;
            fetches = 0;
            s->quiet_since_ns = now;
            continue;
        }
        long left = s_left_ms_sub(deadline);
        if (left == 0)
            return 0;
        long to_probe = (long)((probe_at - now + 999999) / 1000000);
        long wait = left < to_probe ? left : to_probe;
        if (s->stop && wait > BUS_STOP_POLL_MS)
            wait = BUS_STOP_POLL_MS; /* look at the stop flag again soon */
        s_drain(s, wait);
    }
    return 0;
}
