/*
 * omsd_seq.c - the sequencer: the one thread that changes anything. It drains the command
 * ROUTER into a batch, runs the batch through the engine, appends the events and rows in one
 * atomic write (durable with --durability sync before anything leaves), answers every command
 * and publishes every event, then commits the engine and starts over.
 *
 *   poll (OMSD_POLL_MS) -> drain up to batch-max messages without blocking
 *     each message: [routing id][exactly one payload frame <= OMS_LIMIT_MSG_BYTES] that
 *     decodes; anything else is answered ERROR at once (nothing appended) and counted
 *   -> oms_engine_process (may consume fewer than given: loop over the rest)
 *   -> evlog_append (events + projection/idempotency rows + head, one WriteBatch)
 *   -> replies [routing id][CommandReply], events [topic][envelope as stored]
 *   -> oms_engine_commit
 *
 * The envelope bytes published are read back from the log with an iterator from the batch's
 * first seq (the log assigns seqs and hashes and keeps the bytes to itself): one RocksDB
 * iterator per batch plus one memtable read per event, the price of publishing exactly what a
 * verifier will hash.
 *
 * A failed append is fatal: the engine is rolled back, every command of the batch is answered
 * ERROR/OMS_ERR_IO, and omsd_seq_run returns OMS_ERR_IO so that the daemon stops (the store may
 * or may not hold the batch; a restart finds out and idempotency makes the clients' retries
 * safe).
 *
 * Memory: everything is allocated in omsd_seq_new and sized by batch-max: the decoded
 * commands, the received messages (kept alive until the batch is done, because each command's
 * raw bytes point into its message), a decoding arena large enough for batch-max commands with
 * maximal allocation lists, and one reply buffer. Nothing is allocated per message except what
 * ZeroMQ allocates for the message itself.
 */
#include "omsd.h"

#include "codec.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

enum {
    REPLY_CAP = 4096,    /* an encoded CommandReply: ids, a 512-byte text, numbers */
    ERR_TEXT_CAP = 256,  /* the decoder's reason */
    SALVAGE_FIELDS = 16, /* top-level fields scanned for a command id in undecodable bytes */
};

struct omsd_seq {
    const omsd_config_t *cfg; /* settings (batch_max) */
    evlog_t *log;             /* the writer handle (the caller's) */
    oms_engine_t *eng;        /* the engine (the caller's) */
    void *cmd;                /* command ROUTER (the caller's); NULL in local-only use */
    void *pub;                /* event PUB (the caller's); NULL: nothing published */
    omsd_stats_t *stats;      /* shared counters */
    uint32_t cap;             /* commands per batch (batch_max) */
    uint32_t n;               /* commands in the batch being built */
    oms_cmd_t *cmds;          /* [cap] decoded commands; raw points into body[i] */
    zmq_msg_t *ident;         /* [cap] routing id of each command's sender */
    zmq_msg_t *body;          /* [cap] each command's payload frame */
    zmq_msg_t extra;          /* scratch for frames beyond the first (drained, dropped) */
    oms_reply_t *local_out;   /* local mode: replies go to local_out[local_idx[i]] */
    uint32_t *local_idx;      /* [cap] local mode: caller's index of batch slot i */
    oms_arena_t arena;        /* decoding arena, reset per batch */
    uint8_t *replybuf;        /* REPLY_CAP bytes for encoding one reply */
    int64_t last_ts_ns;       /* sequencer time of the last batch: time never goes back */
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

omsd_seq_t *omsd_seq_new(const omsd_config_t *cfg, evlog_t *log, oms_engine_t *eng,
                         void *cmd_sock, void *pub_sock, omsd_stats_t *stats)
{
    assert(cfg && log && eng && stats);
    assert(cfg->batch_max >= 1 && cfg->batch_max <= OMS_LIMIT_BATCH_COMMANDS);
    omsd_seq_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = cfg;
    s->log = log;
    s->eng = eng;
    s->cmd = cmd_sock;
    s->pub = pub_sock;
    s->stats = stats;
    s->cap = cfg->batch_max;
    s->cmds = calloc(s->cap, sizeof *s->cmds);
    s->ident = calloc(s->cap, sizeof *s->ident);
    s->body = calloc(s->cap, sizeof *s->body);
    s->local_idx = calloc(s->cap, sizeof *s->local_idx);
    s->replybuf = malloc(REPLY_CAP);
    /* Room for every command of a batch to carry a maximal allocation list (the codec keeps at
     * most OMS_LIMIT_ALLOC_ACCOUNTS); pages are touched only as used. */
    size_t per_cmd = OMS_LIMIT_ALLOC_ACCOUNTS * sizeof(oms_alloc_instr_t) + 64;
    if (!s->cmds || !s->ident || !s->body || !s->local_idx || !s->replybuf ||
        oms_arena_init(&s->arena, (size_t)s->cap * per_cmd) != 0) {
        omsd_seq_destroy(&s);
        return NULL;
    }
    for (uint32_t i = 0; i < s->cap; i++) {
        zmq_msg_init(&s->ident[i]);
        zmq_msg_init(&s->body[i]);
    }
    zmq_msg_init(&s->extra);
    s->last_ts_ns = s_head_ts(log);
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
        OMSD_ERROR("cannot encode the reply to command '%s': %s", r->command_id,
                   oms_strerror(rc));
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

/* ---- publishing ----------------------------------------------------------------------------- */

/* Publishes the batch's events as stored, [topic][envelope], in seq order. The events are
 * durable already: a failure here is logged and leaves a gap that subscribers fill through
 * catch-up. */
static void s_publish(omsd_seq_t *s, const oms_batch_t *b)
{
    if (!s->pub || b->n_events == 0)
        return;
    const proj_state_t *st = oms_engine_state(s->eng);
    evlog_iter_t *it = NULL;
    int rc = evlog_iter_new(s->log, b->first_seq, &it);
    if (rc != 0) {
        OMSD_ERROR("cannot read back events %llu.. to publish them: %s",
                   (unsigned long long)b->first_seq, oms_strerror(rc));
        return;
    }
    char topic[OMSD_TOPIC_CAP];
    for (uint32_t k = 0; k < b->n_events; k++) {
        uint64_t seq = 0;
        const uint8_t *val = NULL;
        size_t len = 0;
        rc = evlog_iter_next(it, &seq, &val, &len);
        if (rc != 1 || seq != b->first_seq + k) {
            OMSD_ERROR("cannot read back event %llu to publish it (%s)",
                       (unsigned long long)(b->first_seq + k),
                       rc < 0 ? oms_strerror(rc) : "missing");
            break;
        }
        int tl = omsd_topic(st, &b->decoded[k], topic, sizeof topic);
        if (tl < 0) {
            OMSD_ERROR("event %llu has no topic (type %d)", (unsigned long long)seq,
                       (int)b->decoded[k].type);
            continue;
        }
        if (zmq_send(s->pub, topic, (size_t)tl, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
            zmq_send(s->pub, val, len, ZMQ_DONTWAIT) < 0)
            OMSD_WARN("event %llu not published: %s", (unsigned long long)seq,
                      zmq_strerror(errno));
    }
    evlog_iter_destroy(&it);
}

/* ---- processing ----------------------------------------------------------------------------- */

/* Forgets the batch: frees the received messages, resets the arena. */
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

/* Runs the s->n commands of the batch. 0, or a fatal error after which the daemon stops. */
static int s_process(omsd_seq_t *s)
{
    int64_t ts = oms_clock_now_ns();
    if (ts < s->last_ts_ns)
        ts = s->last_ts_ns; /* the wall clock stepped back: sequencer time does not */
    s->last_ts_ns = ts;
    int fatal = 0;
    uint32_t done = 0;
    /* Each round consumes at least one command (checked), so this ends within s->n rounds. */
    while (done < s->n) {
        oms_batch_t b;
        int rc = oms_engine_process(s->eng, s->cmds + done, s->n - done, ts, &b);
        if (rc != 0) {
            /* The engine rolled back: nothing of these commands happened. OMS_ERR_IO and
             * OMS_ERR_CORRUPT mean the store could not be read (idempotency lookups): stop. */
            OMSD_ERROR("the engine refused a batch of %u commands: %s", s->n - done,
                       oms_strerror(rc));
            s_error_range(s, done, s->n, rc == OMS_ERR_CORRUPT ? OMS_ERR_IO : rc,
                          "the command could not be processed");
            if (rc == OMS_ERR_IO || rc == OMS_ERR_CORRUPT)
                fatal = OMS_ERR_IO;
            break;
        }
        if (b.n_consumed == 0) {
            oms_engine_rollback(s->eng);
            OMSD_ERROR("the engine consumed no command of %u", s->n - done);
            s_error_range(s, done, s->n, OMS_ERR_LIMIT, "the command could not be processed");
            break;
        }
        uint32_t append_us = 0;
        if (b.n_events || b.n_rows) {
            int64_t t0 = oms_clock_mono_ns();
            uint64_t first = 0;
            rc = evlog_append(s->log, b.events, b.n_events, b.rows, b.n_rows, &first);
            int64_t dt = oms_clock_mono_ns() - t0;
            append_us = dt >= 1000 ? (uint32_t)(dt / 1000 < UINT32_MAX ? dt / 1000 : UINT32_MAX)
                                   : 1;
            if (rc != 0) {
                oms_engine_rollback(s->eng);
                OMSD_ERROR("append of %u events failed: %s (%s); stopping: a restart recovers",
                           b.n_events, evlog_errmsg(s->log), oms_strerror(rc));
                s_error_range(s, done, s->n, OMS_ERR_IO,
                              "the log could not be written; the daemon stops");
                fatal = OMS_ERR_IO;
                break;
            }
            /* The engine's head was checked against the log's at start, and both advance only
             * here: a difference is a bug. */
            assert(b.n_events == 0 || first == b.first_seq);
        }
        /* Durable. The counters first: they carry the head the query thread refreshes to, so
         * a client that queries right after its reply sees its command. Then answer and
         * publish (before commit, while the batch result is valid). */
        uint64_t head = 0;
        oms_hash_t hash;
        evlog_head(s->log, &head, &hash);
        omsd_stats_batch(s->stats, b.n_consumed, b.n_events, append_us, head, &hash, b.replies);
        for (uint32_t i = 0; i < b.n_consumed; i++)
            s_answer(s, done + i, &b.replies[i]);
        s_publish(s, &b);
        OMSD_DEBUG("batch: %u commands, %u events, %u rows, head %llu, %u us", b.n_consumed,
                   b.n_events, b.n_rows, (unsigned long long)head, append_us);
        oms_engine_commit(s->eng);
        done += b.n_consumed;
    }
    s_release(s);
    return fatal;
}

int omsd_seq_run(omsd_seq_t *s, volatile sig_atomic_t *stop)
{
    assert(s->cmd);
    zmq_pollitem_t item = {.socket = s->cmd, .events = ZMQ_POLLIN};
    while (!*stop) {
        int rc = zmq_poll(&item, 1, OMSD_POLL_MS);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            OMSD_ERROR("command socket: %s", zmq_strerror(errno));
            return OMS_ERR_IO;
        }
        if (rc == 0)
            continue;
        rc = s_drain(s);
        if (s->n) {
            int prc = s_process(s);
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
    assert(s->n == 0 && n <= s->cap);
    char why[ERR_TEXT_CAP];
    for (uint32_t i = 0; i < n; i++) {
        why[0] = '\0';
        int rc = codec_decode_command(bufs[i], lens[i], &s->arena, &s->cmds[s->n], why,
                                      sizeof why);
        if (rc != 0) {
            s_error_reply(&replies[i], "", rc, why[0] ? why : oms_strerror(rc));
            continue;
        }
        s->local_idx[s->n++] = i;
    }
    s->local_out = replies;
    int rc = s->n ? s_process(s) : 0;
    s->local_out = NULL;
    return rc;
}
