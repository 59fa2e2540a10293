/*
 * omsd_seq.c - the sequencer: the one thread that changes anything. It drains the command
 * ROUTER into a batch, runs the batch through the engine, hands the events and rows to the log
 * as one atomic write, and answers every command and publishes every event once that write is
 * durable (with --durability sync: on disk). Nothing leaves before it is durable.
 *
 *   poll (OMSD_POLL_MS) the command socket and the log's completion eventfd
 *     drain up to batch-max messages without blocking; each message: [routing id][exactly one
 *     payload frame <= OMS_LIMIT_MSG_BYTES] that decodes; anything else is answered ERROR at
 *     once (nothing appended) and counted
 *   -> oms_engine_process (may consume fewer than given: loop over the rest)
 *   -> evlog_submit (events + projection/idempotency rows + head, one WriteBatch) and
 *      oms_engine_commit at once: a flight holds the routing ids and replies
 *   -> when the log says the flight's batch is durable (in submission order): replies
 *      [routing id][CommandReply], events [topic][envelope as stored] (the topic computed
 *      from the stored envelope by bus_topic_of's rules, as subscribers compute it on
 *      catch-up: one implementation of the topic grammar)
 *
 * Pipelining (the LMAX arrangement, docs/DESIGN-NOTES.md): up to FLIGHTS (4) batches
 * are in flight, so the engine works on batch N+1 while the log writes and syncs batch N. The
 * engine's state runs ahead of the disk, but nothing observable does: replies and publishes
 * wait for durability, and a failed write stops the daemon (every command in flight is
 * answered ERROR/OMS_ERR_IO; a restart reloads the durable state and idempotency makes the
 * clients' retries safe). One thing the engine cannot see while ahead: the idempotency rows
 * of batches in flight are not in the store yet, so a command whose (principal, command id)
 * matches one in flight is held until the pipeline has drained, and then finds its row
 * (DUPLICATE) like any retry. Matching uses a 64-bit hash of the pair: a false match only
 * delays a command, it never changes an answer.
 *
 * The envelope bytes published are read back from the log with an iterator from the batch's
 * first seq (the log assigns seqs and hashes and keeps the bytes to itself): one RocksDB
 * iterator per batch plus one memtable read per event, the price of publishing exactly what a
 * verifier will hash.
 *
 * The state's memory (--reload-orders): the engine keeps every order it has seen since its
 * state was loaded, finished or not (engine.h: nothing is evicted while it runs), so a daemon
 * that runs for weeks would hold every order of those weeks. Once cfg->reload_orders more
 * orders are in memory than right after the last load, or after a batch that ended a trading
 * day (EndOfDayProcessed: the day's orders are finished now), the sequencer drains its
 * flights (every reply and event goes out, the store holds all the old state knew) and loads
 * a fresh engine from the store exactly as a restart does (omsd_engine_open: working orders,
 * positions, reference data; finished orders load again on demand when a command names
 * them), then drops the old one. Commands wait in the socket meanwhile: the pause is a
 * restart's load time, which grows with the working orders (docs/PERFORMANCE.md), once per
 * reload_orders new orders and once per trading day. The property test's restarting twin
 * (tests/test_engine_property.c) is what shows that a state loaded this way answers every
 * later command as the continuous one would. A store written before index rows (no marker:
 * oms_engine_indexed is false) loads whole, so reloading it would free nothing: reloads are
 * then off, with a warning at start.
 *
 * Memory: everything is allocated in omsd_seq_new and sized by batch-max: the decoded
 * commands, the received messages (kept until the engine has consumed them, because each
 * command's raw bytes point into its message), a decoding arena large enough for batch-max
 * commands with maximal allocation lists, and per flight the routing ids, replies and
 * idempotency hashes of one engine batch. Nothing is allocated per message except what ZeroMQ
 * allocates for the message itself.
 */
#include "omsd.h"

#include "bus.h"
#include "codec.h"

#include <assert.h>
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

enum {
    REPLY_CAP = 4096,    /* an encoded CommandReply: ids, a 512-byte text, numbers */
    ERR_TEXT_CAP = 256,  /* the decoder's reason */
    SALVAGE_FIELDS = 16, /* top-level fields scanned for a command id in undecodable bytes */
};

/* One engine batch handed to the log and not yet answered. */
typedef struct {
    uint64_t need;        /* durable tickets (evlog_poll) needed before it is answered */
    bool appended;        /* it was submitted (false: nothing to write, e.g. DUPLICATEs) */
    uint32_t n;           /* commands it answers */
    zmq_msg_t *ident;     /* [cap] routing ids of their senders (moved from the drain) */
    uint32_t *local_idx;  /* [cap] local mode: the caller's index of each */
    oms_reply_t *replies; /* [cap] their replies */
    uint64_t *keys;       /* [cap] idempotency hashes of their commands, sorted */
    uint64_t first_seq;   /* seq of its first event */
    uint32_t n_events;    /* its events */
    int64_t t0_ns;                  /* when it was submitted (monotonic), for the latency */
} flight_t;

/* Batches the sequencer keeps in flight. Fewer than the log's ring allows: each flight holds a
 * batch's replies and routing ids, and with sync durability a fifth batch would only
 * join the same group commit. */
enum { FLIGHTS = 4 };
_Static_assert(FLIGHTS <= EVLOG_PIPELINE_DEPTH, "the log must take every flight at once");

struct omsd_seq {
    const omsd_config_t *cfg;  /* settings (batch_max) */
    evlog_t *log;              /* the writer handle (the caller's) */
    oms_engine_t *eng;         /* the engine: *engp */
    oms_engine_t **engp;       /* the caller's engine variable (replaced on a reload) */
    uint64_t reload_base;      /* orders in memory right after the last load */
    uint64_t reloads;          /* state reloads since start */
    bool reload_ok;            /* the store loads working orders only (oms_engine_indexed) */
    bool day_ended;            /* a batch since the last load processed an end of day */
    void *cmd;                 /* command ROUTER (the caller's); NULL in local-only use */
    void *pub;                 /* event PUB (the caller's); NULL: nothing published */
    omsd_stats_t *stats;       /* shared counters */
    uint32_t cap;              /* commands per batch (batch_max) */
    uint32_t n;                /* commands in the batch being built */
    oms_cmd_t *cmds;           /* [cap] decoded commands; raw points into body[i] */
    zmq_msg_t *ident;          /* [cap] routing id of each command's sender */
    zmq_msg_t *body;           /* [cap] each command's payload frame */
    zmq_msg_t extra;           /* scratch for frames beyond the first (drained, dropped) */
    oms_reply_t *local_out;    /* local mode: replies go to local_out[local_idx[i]] */
    uint32_t *local_idx;       /* [cap] local mode: caller's index of batch slot i */
    oms_arena_t arena;         /* decoding arena, reset per batch */
    uint8_t *replybuf;         /* REPLY_CAP bytes for encoding one reply */
    int64_t last_ts_ns;        /* sequencer time of the last batch: time never goes back */
    flight_t flights[FLIGHTS]; /* ring of flights, oldest at head */
    uint32_t f_head;           /* index of the oldest flight */
    uint32_t f_count;          /* flights in the ring */
    uint64_t submitted;        /* evlog_submit calls so far (= the next ticket + 1 - 1) */
    uint64_t durable;          /* durable tickets as last polled */
    int notify_fd;             /* the log's completion eventfd */
};

/* ---- set-up --------------------------------------------------------------------------------- */

/* The sequencer time of the log's last event, so that batch times never go backwards across a
 * restart even if the wall clock did. 0 for an empty log or if it cannot be read (then the
 * wall clock alone is used). */
static int64_t s_head_ts(evlog_t *log)
{
    uint64_t head = 0;
    evlog_head(log, &head, NULL);
    if (head == 0)
        return 0;
    uint8_t *v = NULL;
    size_t len = 0;
    evlog_record_t rec;
    int64_t ts = 0;
    if (evlog_get(log, head, &v, &len) == 0 && evlog_record_parse(v, len, &rec) == 0)
        ts = rec.ts_ns;
    evlog_free(v);
    return ts;
}

int omsd_engine_open(evlog_t *log, oms_engine_t **out, char *err, size_t cap)
{
    *out = NULL;
    uint64_t head = 0;
    evlog_head(log, &head, NULL);
    oms_engine_opts_t eo;
    oms_engine_opts_default(&eo);
    oms_engine_opts_use_store(&eo, log); /* idempotency rows and on-demand loading */
    oms_engine_t *e = oms_engine_new(&eo, head);
    if (!e) {
        snprintf(err, cap, "out of memory creating the engine");
        return OMS_ERR_NOMEM;
    }
    int rc = oms_engine_load(e, log);
    if (rc != 0) {
        snprintf(err, cap, "%s %s", oms_strerror(rc), oms_engine_error(e));
        oms_engine_destroy(&e);
        return rc;
    }
    if (oms_engine_head(e) != head) {
        snprintf(err, cap,
                 "the loaded state is at seq %llu but the log's head is %llu (rebuild the "
                 "projections with oms-replay)",
                 (unsigned long long)oms_engine_head(e), (unsigned long long)head);
        oms_engine_destroy(&e);
        return OMS_ERR_STATE;
    }
    *out = e;
    return 0;
}

/* Orders in the engine's state. */
static uint64_t s_orders(const omsd_seq_t *s)
{
    return proj_count(oms_engine_state(s->eng), PROJ_T_ORDER);
}

omsd_seq_t *omsd_seq_new(const omsd_config_t *cfg, evlog_t *log, oms_engine_t **engp,
                         void *cmd_sock, void *pub_sock, omsd_stats_t *stats)
{
    assert(cfg && log && engp && *engp && stats);
    assert(cfg->batch_max >= 1 && cfg->batch_max <= OMS_LIMIT_BATCH_COMMANDS);
    omsd_seq_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = cfg;
    s->log = log;
    s->eng = *engp;
    s->engp = engp;
    s->reload_base = s_orders(s);
    /* A store written before index rows loads whole: reloading it would free nothing and
     * pause for a load that grows with history. */
    s->reload_ok = oms_engine_indexed(*engp);
    if (cfg->reload_orders && !s->reload_ok)
        OMSD_WARN("the store has no index rows (written by an older version): every restart "
                  "loads it whole, and --reload-orders is off");
    omsd_stats_state(stats, s->reload_base, 0);
    s->cmd = cmd_sock;
    s->pub = pub_sock;
    s->stats = stats;
    s->cap = cfg->batch_max;
    s->cmds = calloc(s->cap, sizeof *s->cmds);
    s->ident = calloc(s->cap, sizeof *s->ident);
    s->body = calloc(s->cap, sizeof *s->body);
    s->local_idx = calloc(s->cap, sizeof *s->local_idx);
    s->replybuf = malloc(REPLY_CAP);
    bool ok = s->cmds && s->ident && s->body && s->local_idx && s->replybuf;
    for (uint32_t f = 0; ok && f < FLIGHTS; f++) {
        flight_t *fl = &s->flights[f];
        fl->ident = calloc(s->cap, sizeof *fl->ident);
        fl->local_idx = calloc(s->cap, sizeof *fl->local_idx);
        fl->replies = calloc(s->cap, sizeof *fl->replies);
        fl->keys = calloc(s->cap, sizeof *fl->keys);
        ok = fl->ident && fl->local_idx && fl->replies && fl->keys;
        for (uint32_t i = 0; ok && i < s->cap; i++)
            zmq_msg_init(&fl->ident[i]);
    }
    /* Room for every command of a batch to carry a maximal allocation list (the codec keeps at
     * most OMS_LIMIT_ALLOC_ACCOUNTS); pages are touched only as used. */
    size_t per_cmd = OMS_LIMIT_ALLOC_ACCOUNTS * sizeof(oms_alloc_instr_t) + 64;
    if (!ok || oms_arena_init(&s->arena, (size_t)s->cap * per_cmd) != 0) {
        omsd_seq_destroy(&s);
        return NULL;
    }
    for (uint32_t i = 0; i < s->cap; i++) {
        zmq_msg_init(&s->ident[i]);
        zmq_msg_init(&s->body[i]);
    }
    zmq_msg_init(&s->extra);
    s->last_ts_ns = s_head_ts(log);
    s->notify_fd = evlog_notify_fd(log);
    return s;
}

void omsd_seq_destroy(omsd_seq_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    omsd_seq_t *s = *self_p;
    if (s->ident && s->body) {
        for (uint32_t i = 0; i < s->cap; i++) {
            zmq_msg_close(&s->ident[i]);
            zmq_msg_close(&s->body[i]);
        }
        zmq_msg_close(&s->extra);
    }
    for (uint32_t f = 0; f < FLIGHTS; f++) {
        flight_t *fl = &s->flights[f];
        if (fl->ident)
            for (uint32_t i = 0; i < s->cap; i++)
                zmq_msg_close(&fl->ident[i]);
        free(fl->ident);
        free(fl->local_idx);
        free(fl->replies);
        free(fl->keys);
    }
    oms_arena_free(&s->arena);
    free(s->cmds);
    free(s->ident);
    free(s->body);
    free(s->local_idx);
    free(s->replybuf);
    free(s);
    *self_p = NULL;
}

/* ---- replies -------------------------------------------------------------------------------- */

/* Sends one reply to the peer with routing id id[id_len]. A peer that has gone, or whose queue
 * is full, loses the reply (ROUTER_MANDATORY off): the client's retry gets DUPLICATE. */
static void s_send_reply(omsd_seq_t *s, const void *id, size_t id_len, const oms_reply_t *r)
{
    size_t len = 0;
    int rc = codec_encode_reply(r, s->replybuf, REPLY_CAP, &len);
    if (rc != 0) {
        /* Cannot happen with model-bounded strings: REPLY_CAP covers the largest reply. */
        OMSD_ERROR("cannot encode the reply to command '%s': %s", r->command_id, oms_strerror(rc));
        return;
    }
    if (zmq_send(s->cmd, id, id_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(s->cmd, s->replybuf, len, ZMQ_DONTWAIT) < 0)
        OMSD_WARN("reply to command '%s' not sent: %s", r->command_id, zmq_strerror(errno));
}

/* Answers batch slot i (a socket peer or a local caller). */
static void s_answer(omsd_seq_t *s, uint32_t i, const oms_reply_t *r)
{
    if (s->local_out) {
        s->local_out[s->local_idx[i]] = *r;
        return;
    }
    s_send_reply(s, zmq_msg_data(&s->ident[i]), zmq_msg_size(&s->ident[i]), r);
}

static void s_error_reply(oms_reply_t *r, const char *command_id, int code, const char *text)
{
    memset(r, 0, sizeof *r);
    oms_strlcpy(r->command_id, command_id ? command_id : "", OMS_ID_CAP);
    r->status = OMS_REPLY_ERROR;
    r->error_code = code;
    oms_strlcpy(r->text, text, OMS_TEXT_CAP);
}

/* Answers ERROR to batch slots [from, to): their commands were not processed. */
static void s_error_range(omsd_seq_t *s, uint32_t from, uint32_t to, int code, const char *text)
{
    for (uint32_t i = from; i < to; i++) {
        oms_reply_t r;
        s_error_reply(&r, s->cmds[i].command_id, code, text);
        s_answer(s, i, &r);
    }
    if (to > from)
        omsd_stats_errors(s->stats, to - from);
}

/* ---- undecodable input ---------------------------------------------------------------------- */

static int s_varint(const uint8_t *p, size_t len, size_t *off, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64 && *off < len; shift += 7) {
        uint8_t b = p[(*off)++];
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* The command id of bytes that did not decode, when it can be read: Command field 1 among the
 * first SALVAGE_FIELDS top-level fields, 1..OMS_LIMIT_ID_LEN printable ASCII characters.
 * Otherwise "" (the reply then carries no id, as PROTOCOL.md allows). */
static void s_salvage_id(const uint8_t *p, size_t len, char *out)
{
    out[0] = '\0';
    size_t off = 0;
    for (int f = 0; f < SALVAGE_FIELDS && off < len; f++) {
        uint64_t key = 0, v = 0;
        if (s_varint(p, len, &off, &key) != 0)
            return;
        switch (key & 7) {
        case 0:
            if (s_varint(p, len, &off, &v) != 0)
                return;
            break;
        case 1:
            off += 8;
            break;
        case 5:
            off += 4;
            break;
        case 2:
            if (s_varint(p, len, &off, &v) != 0 || v > len - off)
                return;
            if ((key >> 3) == 1) {
                if (v == 0 || v > OMS_LIMIT_ID_LEN)
                    return;
                for (size_t i = 0; i < v; i++)
                    if (p[off + i] < 0x20 || p[off + i] > 0x7e)
                        return;
                memcpy(out, p + off, v);
                out[v] = '\0';
                return;
            }
            off += v;
            break;
        default:
            return;
        }
    }
}

/* Receives the rest of a message whose payload had more than one frame, so that the socket is
 * at a message boundary again. A multipart message arrives whole (ZeroMQ delivers all of its
 * frames or none), so this reads frames already in memory and ends with the message; the frame
 * count is bounded by what ZMQ_MAXMSGSIZE and the receive high-water mark let in. */
static void s_drain_rest(omsd_seq_t *s)
{
    for (;;) {
        if (zmq_msg_recv(&s->extra, s->cmd, ZMQ_DONTWAIT) < 0 || !zmq_msg_more(&s->extra))
            break;
    }
    zmq_msg_close(&s->extra);
    zmq_msg_init(&s->extra);
}

/* ---- draining ------------------------------------------------------------------------------- */

/* Receives up to cap - n messages without blocking; well-formed commands join the batch, the
 * rest are answered ERROR at once. 0, or OMS_ERR_IO when the socket failed (context ended). */
static int s_drain(omsd_seq_t *s)
{
    uint32_t errors = 0;
    char why[ERR_TEXT_CAP];
    char id[OMS_ID_CAP];
    oms_reply_t r;
    int rc = 0;
    while (s->n < s->cap) {
        zmq_msg_t *ident = &s->ident[s->n], *body = &s->body[s->n];
        if (zmq_msg_recv(ident, s->cmd, ZMQ_DONTWAIT) < 0) {
            if (errno != EAGAIN && errno != EINTR)
                rc = OMS_ERR_IO;
            break;
        }
        if (!zmq_msg_more(ident))
            continue; /* a ROUTER always prefixes the routing id; nothing to answer */
        if (zmq_msg_recv(body, s->cmd, ZMQ_DONTWAIT) < 0) {
            rc = errno == EAGAIN || errno == EINTR ? 0 : OMS_ERR_IO;
            break; /* cannot happen: the frames of a message arrive together */
        }
        const uint8_t *data = zmq_msg_data(body);
        size_t len = zmq_msg_size(body);
        if (zmq_msg_more(body)) {
            s_drain_rest(s);
            s_salvage_id(data, len, id);
            s_error_reply(&r, id, OMS_ERR_LIMIT, "expected exactly one frame");
            s_send_reply(s, zmq_msg_data(ident), zmq_msg_size(ident), &r);
            errors++;
            continue;
        }
        if (len > OMS_LIMIT_MSG_BYTES) {
            s_salvage_id(data, len, id);
            snprintf(why, sizeof why, "command of %zu bytes is over the %d-byte limit", len,
                     (int)OMS_LIMIT_MSG_BYTES);
            s_error_reply(&r, id, OMS_ERR_LIMIT, why);
            s_send_reply(s, zmq_msg_data(ident), zmq_msg_size(ident), &r);
            errors++;
            continue;
        }
        why[0] = '\0';
        int drc = codec_decode_command(data, len, &s->arena, &s->cmds[s->n], why, sizeof why);
        if (drc != 0) {
            s_salvage_id(data, len, id);
            s_error_reply(&r, id, drc, why[0] ? why : oms_strerror(drc));
            s_send_reply(s, zmq_msg_data(ident), zmq_msg_size(ident), &r);
            OMSD_DEBUG("command '%s' refused: %s", id, r.text);
            errors++;
            continue;
        }
        s->n++;
    }
    if (errors)
        omsd_stats_errors(s->stats, errors);
    return rc;
}

/* ---- flights ------------------------------------------------------------------------------- */

/* 64-bit FNV-1a of (principal, 0x1f, command id): the idempotency key of a command. */
static uint64_t s_key(const oms_cmd_t *c)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)c->principal; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    h = (h ^ 0x1f) * 1099511628211ull;
    for (const unsigned char *p = (const unsigned char *)c->command_id; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

static int s_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The k-th flight from the oldest. */
static flight_t *s_flight(omsd_seq_t *s, uint32_t k)
{
    assert(k < FLIGHTS);
    return &s->flights[(s->f_head + k) % FLIGHTS];
}

/* True when a command with this idempotency key is in a flight (or a hash collides with one:
 * then the command only waits for the pipeline to drain). */
static bool s_in_flight(omsd_seq_t *s, uint64_t key)
{
    for (uint32_t k = 0; k < s->f_count; k++) {
        const flight_t *f = s_flight(s, k);
        if (f->n && bsearch(&key, f->keys, f->n, sizeof key, s_cmp_u64))
            return true;
    }
    return false;
}

/* The PUB topic of a stored envelope into topic[cap] (BUS_TOPIC_CAP): bus_topic_of's, the
 * one the subscribers compute for events they catch up on, with the account of the order the
 * event names taken from the engine's state when the event does not carry it. The state may be
 * a few batches ahead of the event (pipelining), which changes nothing: an order's account never
 * changes, and every order an event names was loaded before its batch and stays (a reload
 * of the state happens only with no flight in hand). Returns the length or a negative
 * oms_err_t (an envelope this version cannot read). */
static int s_topic(omsd_seq_t *s, const uint8_t *env, size_t len, char *topic, size_t cap)
{
    bus_topic_info_t info;
    int rc = bus_topic_info(env, len, &info);
    if (rc)
        return rc;
    const char *account = NULL;
    if (info.account_of_order && info.order_id[0]) {
        const proj_order_t *o = proj_order(oms_engine_state(s->eng), info.order_id);
        account = o ? o->account_id : NULL;
    }
    return bus_topic_format(&info, account, topic, cap);
}

/* Publishes a durable flight's events as stored, [topic][envelope], in seq order. A failure
 * here is logged and leaves a gap that subscribers fill through catch-up. */
static void s_publish(omsd_seq_t *s, const flight_t *f)
{
    if (!s->pub || f->n_events == 0)
        return;
    evlog_iter_t *it = NULL;
    int rc = evlog_iter_new(s->log, f->first_seq, &it);
    if (rc != 0) {
        OMSD_ERROR("cannot read back events %llu.. to publish them: %s",
                   (unsigned long long)f->first_seq, oms_strerror(rc));
        return;
    }
    for (uint32_t k = 0; k < f->n_events; k++) {
        uint64_t seq = 0;
        const uint8_t *val = NULL;
        size_t len = 0;
        rc = evlog_iter_next(it, &seq, &val, &len);
        if (rc != 1 || seq != f->first_seq + k) {
            OMSD_ERROR("cannot read back event %llu to publish it (%s)",
                       (unsigned long long)(f->first_seq + k),
                       rc < 0 ? oms_strerror(rc) : "missing");
            break;
        }
        char topic[BUS_TOPIC_CAP];
        int tl = s_topic(s, val, len, topic, sizeof topic);
        if (tl < 0) {
            OMSD_ERROR("event %llu has no topic (%s): not published", (unsigned long long)seq,
                       oms_strerror(tl));
            continue;
        }
        if (zmq_send(s->pub, topic, (size_t)tl, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
            zmq_send(s->pub, val, len, ZMQ_DONTWAIT) < 0)
            OMSD_WARN("event %llu not published: %s", (unsigned long long)seq, zmq_strerror(errno));
    }
    evlog_iter_destroy(&it);
}

/* Ends the oldest flight: when durable, counts it, answers its commands and publishes its
 * events; otherwise (its write failed) answers each ERROR/OMS_ERR_IO. Frees its slot. */
static void s_finish(omsd_seq_t *s, bool durable)
{
    assert(s->f_count > 0);
    flight_t *f = s_flight(s, 0);
    if (durable) {
        /* The counters first: they carry the head the query thread refreshes to, so a client
         * that queries right after its reply sees its command. */
        uint64_t head = 0;
        oms_hash_t hash;
        evlog_head(s->log, &head, &hash);
        int64_t dt = oms_clock_mono_ns() - f->t0_ns;
        uint32_t append_us = !f->appended ? 0
                             : dt >= 1000
                                 ? (uint32_t)(dt / 1000 < UINT32_MAX ? dt / 1000 : UINT32_MAX)
                                 : 1;
        omsd_stats_batch(s->stats, f->n, f->n_events, append_us, head, &hash, f->replies);
        OMSD_DEBUG("batch: %u commands, %u events, head %llu, %u us", f->n, f->n_events,
                   (unsigned long long)head, append_us);
    } else {
        for (uint32_t i = 0; i < f->n; i++) {
            char id[OMS_ID_CAP];
            oms_strlcpy(id, f->replies[i].command_id, sizeof id);
            s_error_reply(&f->replies[i], id, OMS_ERR_IO,
                          "the log could not be written; the daemon stops");
        }
        omsd_stats_errors(s->stats, f->n);
    }
    for (uint32_t i = 0; i < f->n; i++) {
        if (s->local_out)
            s->local_out[f->local_idx[i]] = f->replies[i];
        else
            s_send_reply(s, zmq_msg_data(&f->ident[i]), zmq_msg_size(&f->ident[i]), &f->replies[i]);
        zmq_msg_close(&f->ident[i]);
        zmq_msg_init(&f->ident[i]);
    }
    if (durable)
        s_publish(s, f);
    f->n = 0;
    f->n_events = 0;
    s->f_head = (s->f_head + 1) % FLIGHTS;
    s->f_count--;
}

/* Ends every flight that is durable, oldest first; then, while more than max_left remain,
 * waits for the oldest. 0, or OMS_ERR_IO when a write failed: every flight not durable was
 * answered ERROR and the daemon must stop. */
static int s_complete(omsd_seq_t *s, uint32_t max_left)
{
    /* Bounded: each round ends a flight or waits for the oldest one's write to end. */
    for (int round = 0; round <= 2 * FLIGHTS; round++) {
        uint64_t durable = 0;
        int rc = evlog_poll(s->log, &durable);
        while (s->f_count && s_flight(s, 0)->need <= durable)
            s_finish(s, true);
        if (rc != 0) {
            OMSD_ERROR("append failed: %s; stopping: a restart recovers", evlog_errmsg(s->log));
            while (s->f_count)
                s_finish(s, false);
            return OMS_ERR_IO;
        }
        if (s->f_count <= max_left)
            return 0;
        /* The oldest needs ticket need - 1 (need >= 1, or it would have ended above). */
        (void)evlog_wait(s->log, s_flight(s, 0)->need - 1);
    }
    assert(!"flights did not complete"); /* every wait ends a write */
    return OMS_ERR_STATE;
}

/* ---- processing ----------------------------------------------------------------------------- */

/* Forgets the drained batch: frees the received messages, resets the arena. */
static void s_release(omsd_seq_t *s)
{
    for (uint32_t i = 0; i < s->n; i++) {
        zmq_msg_close(&s->ident[i]);
        zmq_msg_init(&s->ident[i]);
        zmq_msg_close(&s->body[i]);
        zmq_msg_init(&s->body[i]);
    }
    s->n = 0;
    oms_arena_reset(&s->arena);
}

/* Moves an engine batch (its commands are cmds[done ..]) into the next flight; the batch was
 * submitted with ticket (appended) or had nothing to write. */
static void s_fly(omsd_seq_t *s, uint32_t done, const oms_batch_t *b, bool appended, uint64_t need,
                  int64_t t0)
{
    assert(s->f_count < FLIGHTS);
    flight_t *f = s_flight(s, s->f_count);
    f->appended = appended;
    f->need = need;
    f->n = b->n_consumed;
    f->t0_ns = t0;
    for (uint32_t i = 0; i < f->n; i++) {
        zmq_msg_move(&f->ident[i], &s->ident[done + i]);
        f->local_idx[i] = s->local_idx[done + i];
        f->replies[i] = b->replies[i];
        f->keys[i] = s_key(&s->cmds[done + i]);
    }
    qsort(f->keys, f->n, sizeof *f->keys, s_cmp_u64);
    f->first_seq = b->first_seq;
    f->n_events = b->n_events;
    s->f_count++;
}

/* Runs the s->n commands of the drained batch into flights. 0, or a fatal error after which
 * the daemon stops (every command not answered yet was answered ERROR). */
static int s_process(omsd_seq_t *s)
{
    int64_t ts = oms_clock_now_ns();
    if (ts < s->last_ts_ns)
        ts = s->last_ts_ns; /* the wall clock stepped back: sequencer time does not */
    s->last_ts_ns = ts;
    int fatal = 0;
    uint32_t done = 0;
    /* Each round consumes at least one command or empties the pipeline (after which the
     * next round consumes one), so this ends within 2 * s->n rounds. */
    while (done < s->n && !fatal) {
        uint32_t limit = done;
        while (limit < s->n && !s_in_flight(s, s_key(&s->cmds[limit])))
            limit++;
        if (limit == done || s->f_count == FLIGHTS) {
            /* A retry of a command in flight (its idempotency row is not in the store yet),
             * or no free flight: let the pipeline drain. */
            if ((fatal = s_complete(s, limit == done ? 0 : FLIGHTS - 1)) != 0)
                break;
            continue;
        }
        oms_batch_t b;
        int rc = oms_engine_process(s->eng, s->cmds + done, limit - done, ts, &b);
        if (rc != 0) {
            /* The engine rolled back: nothing of these commands happened. OMS_ERR_IO and
             * OMS_ERR_CORRUPT mean the store could not be read (idempotency lookups): stop. */
            const char *why = oms_engine_error(s->eng);
            OMSD_ERROR("the engine refused a batch of %u commands: %s%s%s", limit - done,
                       oms_strerror(rc), why[0] ? ": " : "", why);
            /* A stored row that does not load on demand (why is set) costs only the batch
             * that needed it: its commands are answered ERROR, nothing of them happened. */
            bool row = why[0] && rc == OMS_ERR_CORRUPT;
            s_error_range(s, done, limit, rc == OMS_ERR_CORRUPT ? OMS_ERR_IO : rc,
                          row ? "a stored record this command needs cannot be loaded"
                              : "the command could not be processed");
            if (rc == OMS_ERR_IO || (rc == OMS_ERR_CORRUPT && !row))
                fatal = OMS_ERR_IO;
            done = limit;
            continue;
        }
        if (b.n_consumed == 0) {
            oms_engine_rollback(s->eng);
            OMSD_ERROR("the engine consumed no command of %u", limit - done);
            s_error_range(s, done, limit, OMS_ERR_LIMIT, "the command could not be processed");
            done = limit;
            continue;
        }
        int64_t t0 = oms_clock_mono_ns();
        bool appended = b.n_events || b.n_rows;
        uint64_t need = s->submitted; /* nothing to write: answered after what went before */
        if (appended) {
            uint64_t ticket = 0, first = 0;
            rc = evlog_submit(s->log, b.events, b.n_events, b.rows, b.n_rows, &ticket, &first);
            if (rc != 0) {
                oms_engine_rollback(s->eng);
                OMSD_ERROR("append of %u events failed: %s (%s); stopping: a restart recovers",
                           b.n_events, evlog_errmsg(s->log), oms_strerror(rc));
                fatal = OMS_ERR_IO;
                break;
            }
            /* The engine's head was checked against the log's at start, and both advance only
             * here: a difference is a bug. */
            assert(b.n_events == 0 || first == b.first_seq);
            s->submitted = ticket + 1;
            need = ticket + 1;
        }
        for (uint32_t k = 0; k < b.n_events; k++)
            if (b.decoded[k].type == OMS_EV_END_OF_DAY_PROCESSED)
                s->day_ended = true;
        s_fly(s, done, &b, appended, need, t0);
        oms_engine_commit(s->eng);
        done += b.n_consumed;
        fatal = s_complete(s, FLIGHTS); /* answer what is durable already; never waits */
    }
    if (fatal) {
        /* Flights end as their writes did (durable ones are answered normally); whatever
         * was not handed to a flight is answered ERROR here, and the daemon stops. */
        (void)s_complete(s, 0);
        while (s->f_count)
            s_finish(s, false);
        s_error_range(s, done, s->n, OMS_ERR_IO, "the log could not be written; the daemon stops");
    }
    s_release(s);
    return fatal;
}

/* Drains the flights and replaces the engine with one freshly loaded from the store (see the
 * file comment); n is the orders in memory before, day whether an end of day asked for it. A
 * load that fails keeps the old state (logged) and is tried again after reload_orders more
 * orders. 0, or the fatal error of draining the flights (OMS_ERR_IO). */
static int s_reload(omsd_seq_t *s, uint64_t n, bool day)
{
    int rc = s_complete(s, 0);
    if (rc)
        return rc;
    int64_t t0 = oms_clock_mono_ns();
    oms_engine_t *fresh = NULL;
    char err[512];
    if (omsd_engine_open(s->log, &fresh, err, sizeof err) != 0) {
        OMSD_WARN("state reload failed: %s; keeping the %llu orders in memory", err,
                  (unsigned long long)n);
        s->reload_base = n;
        return 0;
    }
    oms_engine_destroy(s->engp);
    *s->engp = s->eng = fresh;
#ifdef __GLIBC__
    malloc_trim(0); /* the old state's small blocks, or RSS keeps the peak */
#endif
    s->reloads++;
    s->reload_base = s_orders(s);
    OMSD_INFO("state reloaded from the store%s in %lld ms: %llu orders in memory (was %llu)",
              day ? " after the end of day" : "", (long long)((oms_clock_mono_ns() - t0) / 1000000),
              (unsigned long long)s->reload_base, (unsigned long long)n);
    return 0;
}

/* After a batch: reloads the state once cfg->reload_orders more orders are in memory than
 * after the last load, or once a day has ended (EndOfDayProcessed: the day's orders are
 * finished, and the new day starts with the working ones only) and orders came in since the
 * last load; then publishes the state's size to the counters. 0, or s_reload's fatal error. */
static int s_after_batch(omsd_seq_t *s)
{
    uint64_t n = s_orders(s);
    bool grown = n >= s->reload_base && n - s->reload_base >= s->cfg->reload_orders;
    bool day = s->day_ended && n > s->reload_base;
    s->day_ended = false;
    if (s->cfg->reload_orders && s->reload_ok && (grown || day)) {
        int rc = s_reload(s, n, day);
        if (rc)
            return rc;
    }
    omsd_stats_state(s->stats, s_orders(s), s->reloads);
    return 0;
}

int omsd_seq_run(omsd_seq_t *s, volatile sig_atomic_t *stop)
{
    assert(s->cmd);
    zmq_pollitem_t items[2] = {
        {.socket = s->cmd, .events = ZMQ_POLLIN},
        {.socket = NULL, .fd = s->notify_fd, .events = ZMQ_POLLIN},
    };
    /* After a stop request, commands are no longer read; the flights in hand are finished. */
    while (!*stop || s->f_count) {
        items[0].events = !*stop && s->f_count < FLIGHTS ? ZMQ_POLLIN : 0;
        items[0].revents = items[1].revents = 0;
        int rc = zmq_poll(items, s->notify_fd >= 0 ? 2 : 1, OMSD_POLL_MS);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            OMSD_ERROR("command socket: %s", zmq_strerror(errno));
            return OMS_ERR_IO;
        }
        if (items[1].revents & ZMQ_POLLIN) {
            uint64_t v;
            ssize_t r = read(s->notify_fd, &v, sizeof v); /* reset the eventfd; state is polled */
            (void)r;
        }
        int crc = s_complete(s, s->notify_fd >= 0 ? FLIGHTS : 0);
        if (crc)
            return crc;
        if (!(items[0].revents & ZMQ_POLLIN))
            continue;
        rc = s_drain(s);
        if (s->n) {
            int prc = s_process(s);
            if (!prc)
                prc = s_after_batch(s);
            if (prc)
                return prc;
        }
        if (rc) {
            OMSD_ERROR("command socket: %s", zmq_strerror(errno));
            return rc;
        }
    }
    return 0;
}

int omsd_seq_run_local(omsd_seq_t *s, const uint8_t *const *bufs, const size_t *lens, uint32_t n,
                       oms_reply_t *replies)
{
    assert(s->n == 0 && n <= s->cap && s->f_count == 0);
    char why[ERR_TEXT_CAP];
    for (uint32_t i = 0; i < n; i++) {
        why[0] = '\0';
        int rc = codec_decode_command(bufs[i], lens[i], &s->arena, &s->cmds[s->n], why, sizeof why);
        if (rc != 0) {
            s_error_reply(&replies[i], "", rc, why[0] ? why : oms_strerror(rc));
            continue;
        }
        s->local_idx[s->n++] = i;
    }
    s->local_out = replies;
    int rc = s->n ? s_process(s) : 0;
    if (rc == 0)
        rc = s_complete(s, 0); /* every reply is in before returning */
    s->local_out = NULL;
    return rc;
}
