/*
 * client.c - the bus client (bus.h, "the client"): DEALER sockets to omsd's command and read
 * endpoints, one request in flight at a time, with the Lazy Pirate pattern for retries: wait
 * for the reply up to a timeout; on silence close the socket (dropping whatever it still
 * holds), open a new one and send the very same bytes again, a bounded number of times. A
 * reply that answers another request (a late reply to an earlier one) is discarded and the
 * wait goes on.
 *
 * Load: one encode per command or query, one copy into ZeroMQ, one decode of the reply. The
 * request buffer (OMS_LIMIT_MSG_BYTES) is allocated once per client; a query's reply stays in
 * its ZeroMQ message, which the decoded slices point into.
 */
#include "bus.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

/* Replies discarded while waiting for one request's: a flood of stale replies cannot keep a
 * request waiting past its deadline, nor forever within it. */
#define S_DISCARD_MAX 100000
/* Frames of a reply message read and dropped beyond the first. */
#define S_EXTRA_FRAMES_MAX 64

struct bus_client {
    void *ctx;                       /* ZeroMQ context */
    bool own_ctx;                    /* created here: terminated by destroy */
    char cmd_ep[BUS_ENDPOINT_CAP];   /* command endpoint ("" when none) */
    char query_ep[BUS_ENDPOINT_CAP]; /* read endpoint ("" when none) */
    void *cmd_sock;                  /* DEALER to cmd_ep, NULL until needed / after a reset */
    void *query_sock;                /* DEALER to query_ep, same */
    uint8_t *buf;                    /* encoded request (OMS_LIMIT_MSG_BYTES) */
    zmq_msg_t qreply;                /* the last query reply (slices point into it) */
    bool has_qreply;                 /* qreply holds one */
    uint64_t next_id;                /* counter for generated request ids */
    char id_prefix[24];              /* random prefix of generated request ids */
    const volatile sig_atomic_t *stop; /* the caller's stop flag, or NULL */
};

/* Lowercase hex of n random bytes into out (2n + 1 bytes). */
static void s_random_hex(char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t r[32];
    if (n > sizeof r)
        n = sizeof r;
    randombytes_buf(r, n);
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[r[i] >> 4];
        out[2 * i + 1] = hex[r[i] & 15];
    }
    out[2 * n] = '\0';
}

static bool s_copy_ep(char dst[BUS_ENDPOINT_CAP], const char *src)
{
    size_t n = src ? strnlen(src, BUS_ENDPOINT_CAP) : 0;
    if (n >= BUS_ENDPOINT_CAP)
        return false;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
    return true;
}

int bus_client_new(void *zctx, const char *cmd_endpoint, const char *query_endpoint,
                   bus_client_t **out)
{
    if (!out)
        return OMS_ERR_INVALID;
    *out = NULL;
    if ((!cmd_endpoint || !*cmd_endpoint) && (!query_endpoint || !*query_endpoint))
        return OMS_ERR_INVALID;
    if (oms_hash_init() != 0) /* libsodium, for the random ids */
        return OMS_ERR_INVALID;
    bus_client_t *c = calloc(1, sizeof *c);
    if (!c)
        return OMS_ERR_NOMEM;
    if (!s_copy_ep(c->cmd_ep, cmd_endpoint) || !s_copy_ep(c->query_ep, query_endpoint)) {
        free(c);
        return OMS_ERR_INVALID;
    }
    c->buf = malloc(OMS_LIMIT_MSG_BYTES);
    if (!c->buf) {
        free(c);
        return OMS_ERR_NOMEM;
    }
    c->ctx = zctx;
    if (!c->ctx) {
        c->ctx = zmq_ctx_new();
        c->own_ctx = true;
        if (!c->ctx) {
            free(c->buf);
            free(c);
            return OMS_ERR_IO;
        }
    }
    s_random_hex(c->id_prefix, 8);
    *out = c;
    return 0;
}

static void s_close(void **sock)
{
    if (*sock) {
        zmq_close(*sock);
        *sock = NULL;
    }
}

void bus_client_destroy(bus_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bus_client_t *c = *self_p;
    s_close(&c->cmd_sock);
    s_close(&c->query_sock);
    if (c->has_qreply)
        zmq_msg_close(&c->qreply);
    if (c->own_ctx)
        zmq_ctx_term(c->ctx);
    free(c->buf);
    free(c);
    *self_p = NULL;
}

/* Opens a DEALER connected to ep: linger 0 (a reset drops what it holds), a bounded message
 * size. 0 or OMS_ERR_IO. */
static int s_open(bus_client_t *c, const char *ep, void **sock)
{
    void *s = zmq_socket(c->ctx, ZMQ_DEALER);
    if (!s)
        return OMS_ERR_IO;
    int linger = 0;
    int64_t maxmsg = BUS_MAXMSG_BYTES;
    if (zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0 || zmq_connect(s, ep) != 0) {
        zmq_close(s);
        return OMS_ERR_IO;
    }
    *sock = s;
    return 0;
}

/* Receives one message's first frame into m (initialised by the caller), dropping any further
 * frames. Returns true when m holds a single-frame message. */
static bool s_recv_one(void *sock, zmq_msg_t *m)
{
    if (zmq_msg_recv(m, sock, ZMQ_DONTWAIT) < 0)
        return false;
    bool single = true;
    for (int i = 0; i < S_EXTRA_FRAMES_MAX && zmq_msg_more(m); i++) {
        zmq_msg_t extra;
        zmq_msg_init(&extra);
        int rc = zmq_msg_recv(&extra, sock, ZMQ_DONTWAIT);
        bool more = rc >= 0 && zmq_msg_more(&extra);
        zmq_msg_close(&extra);
        single = false;
        if (!more)
            break;
    }
    return single;
}

/* Decides whether a reply answers the request: 1 yes (the callback may have taken the message
 * with zmq_msg_move), 0 no (discard it and wait on), or a negative oms_err_t to return. */
typedef int (*s_match_fn)(void *arg, zmq_msg_t *m);

/* Milliseconds left until deadline_ns (monotonic), rounded up; 0 when past. */
static long s_left_ms(int64_t deadline_ns)
{
    int64_t left = deadline_ns - oms_clock_mono_ns();
    return left <= 0 ? 0 : (long)((left + 999999) / 1000000);
}

void bus_client_set_stop(bus_client_t *c, const volatile sig_atomic_t *stop)
{
    if (c)
        c->stop = stop;
}

static bool s_stopped(const bus_client_t *c)
{
    return c->stop && *c->stop;
}

/* Waits up to left ms (> 0) for sock to be readable, in slices of BUS_STOP_POLL_MS when a stop
 * flag is set. 1: readable; 0: not yet (a slice ended or a signal interrupted the wait: the
 * caller looks at its deadline again); -1: a socket error; OMS_ERR_INTERRUPTED once the stop
 * flag is set. */
static int s_wait(const bus_client_t *c, void *sock, long left)
{
    if (s_stopped(c))
        return OMS_ERR_INTERRUPTED;
    long slice = c->stop && left > BUS_STOP_POLL_MS ? BUS_STOP_POLL_MS : left;
    zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
    int n = zmq_poll(&it, 1, slice);
    if (n < 0 && errno != EINTR)
        return -1;
    if (n <= 0)
        return s_stopped(c) ? OMS_ERR_INTERRUPTED : 0;
    return 1;
}

/* One request with Lazy Pirate retries on socket *sock (connected to ep on demand). Returns
 * what match returned (as 0 for a match), OMS_ERR_IO after every attempt, OMS_ERR_INTERRUPTED
 * once the stop flag is set. */
static int s_rpc(bus_client_t *c, const char *ep, void **sock, const uint8_t *req, size_t len,
                 int timeout_ms, int retries, s_match_fn match, void *arg)
{
    for (int attempt = 0; attempt <= retries; attempt++) {
        if (s_stopped(c))
            return OMS_ERR_INTERRUPTED;
        if (!*sock && s_open(c, ep, sock) != 0)
            return OMS_ERR_IO;
        if (zmq_send(*sock, req, len, ZMQ_DONTWAIT) != (int)len) {
            s_close(sock); /* cannot even queue it: start over with a fresh socket */
            continue;
        }
        int64_t deadline = oms_clock_mono_ns() + (int64_t)timeout_ms * 1000000;
        for (int seen = 0; seen < S_DISCARD_MAX; seen++) {
            long left = s_left_ms(deadline);
            if (left == 0)
                break;
            int n = s_wait(c, *sock, left);
            if (n == OMS_ERR_INTERRUPTED)
                return n; /* the socket keeps whatever comes: a late reply is discarded */
            if (n == 0)
                continue;
            if (n < 0)
                break;
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (!s_recv_one(*sock, &m)) {
                zmq_msg_close(&m);
                continue; /* not a one-frame reply: not an answer to anything we sent */
            }
            int r = match(arg, &m);
            zmq_msg_close(&m);
            if (r != 0)
                return r > 0 ? 0 : r;
        }
        s_close(sock); /* Lazy Pirate: the next attempt starts on a fresh connection */
    }
    return OMS_ERR_IO;
}

static bool s_timeouts_ok(int timeout_ms, int retries)
{
    return timeout_ms >= 1 && timeout_ms <= BUS_TIMEOUT_MS_MAX && retries >= 0 &&
           retries <= BUS_RETRIES_MAX;
}

/* ---- commands ------------------------------------------------------------------------------- */

typedef struct {
    const char *command_id; /* ours */
    oms_reply_t *reply;     /* where ours goes */
} s_cmd_match_t;

static int s_cmd_match(void *arg, zmq_msg_t *m)
{
    s_cmd_match_t *x = arg;
    oms_reply_t r;
    if (codec_decode_reply(zmq_msg_data(m), zmq_msg_size(m), &r) != 0)
        return OMS_ERR_DECODE;
    /* Ours: our id echoed, or an ERROR about a frame the daemon could not attribute. */
    if (strcmp(r.command_id, x->command_id) != 0 &&
        !(r.command_id[0] == '\0' && r.status == OMS_REPLY_ERROR))
        return 0;
    *x->reply = r;
    return 1;
}

int bus_submit_encoded(bus_client_t *c, const uint8_t *buf, size_t len, const char *command_id,
                       oms_reply_t *reply, int timeout_ms, int retries)
{
    if (!c || !buf || !command_id || !reply || !s_timeouts_ok(timeout_ms, retries))
        return OMS_ERR_INVALID;
    if (len == 0 || len > OMS_LIMIT_MSG_BYTES)
        return OMS_ERR_LIMIT;
    if (!c->cmd_ep[0])
        return OMS_ERR_STATE;
    memset(reply, 0, sizeof *reply);
    s_cmd_match_t x = {command_id, reply};
    return s_rpc(c, c->cmd_ep, &c->cmd_sock, buf, len, timeout_ms, retries, s_cmd_match, &x);
}

int bus_submit(bus_client_t *c, const oms_cmd_t *cmd, oms_reply_t *reply, int timeout_ms,
               int retries)
{
    if (!c || !cmd || !reply || !s_timeouts_ok(timeout_ms, retries))
        return OMS_ERR_INVALID;
    if (!c->cmd_ep[0])
        return OMS_ERR_STATE;
    oms_cmd_t copy = *cmd;
    if (copy.command_id[0] == '\0')
        s_random_hex(copy.command_id, 16); /* 32 hex characters: 128 random bits */
    size_t len;
    int rc = codec_encode_command(&copy, c->buf, OMS_LIMIT_MSG_BYTES, &len);
    if (rc)
        return rc;
    return bus_submit_encoded(c, c->buf, len, copy.command_id, reply, timeout_ms, retries);
}

int bus_submit_raw(bus_client_t *c, const uint8_t *const *frames, const size_t *lens,
                   size_t n_frames, uint8_t *reply, size_t cap, size_t *reply_len, int timeout_ms)
{
    if (!c || !frames || !lens || n_frames == 0 || n_frames > BUS_RAW_FRAMES_MAX || !reply_len ||
        (!reply && cap) || !s_timeouts_ok(timeout_ms, 0))
        return OMS_ERR_INVALID;
    if (!c->cmd_ep[0])
        return OMS_ERR_STATE;
    *reply_len = 0;
    if (!c->cmd_sock && s_open(c, c->cmd_ep, &c->cmd_sock) != 0)
        return OMS_ERR_IO;
    for (size_t i = 0; i < n_frames; i++) {
        int flags = ZMQ_DONTWAIT | (i + 1 < n_frames ? ZMQ_SNDMORE : 0);
        if (zmq_send(c->cmd_sock, frames[i], lens[i], flags) != (int)lens[i]) {
            s_close(&c->cmd_sock);
            return OMS_ERR_IO;
        }
    }
    int64_t deadline = oms_clock_mono_ns() + (int64_t)timeout_ms * 1000000;
    for (int tries = 0; tries < S_DISCARD_MAX; tries++) {
        long left = s_left_ms(deadline);
        if (left == 0)
            break;
        int n = s_wait(c, c->cmd_sock, left);
        if (n == OMS_ERR_INTERRUPTED) {
            s_close(&c->cmd_sock); /* its reply, if one comes, must not answer a later call */
            return n;
        }
        if (n == 0)
            continue;
        if (n < 0)
            break;
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, c->cmd_sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            continue;
        }
        size_t sz = zmq_msg_size(&m);
        *reply_len = sz;
        if (sz && cap)
            memcpy(reply, zmq_msg_data(&m), sz < cap ? sz : cap);
        bool more = zmq_msg_more(&m);
        zmq_msg_close(&m);
        for (int i = 0; more && i < S_EXTRA_FRAMES_MAX; i++) {
            zmq_msg_t extra;
            zmq_msg_init(&extra);
            more = zmq_msg_recv(&extra, c->cmd_sock, ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&extra);
            zmq_msg_close(&extra);
        }
        return 0;
    }
    s_close(&c->cmd_sock);
    return OMS_ERR_IO;
}

/* ---- queries -------------------------------------------------------------------------------- */

typedef struct {
    bus_client_t *c;        /* the client: keeps the reply */
    const char *request_id; /* ours */
    codec_slice_t *items;   /* the caller's slices */
    uint32_t items_cap;     /* their number */
    codec_qreply_t *out;    /* the decoded reply */
} s_query_match_t;

static int s_query_match(void *arg, zmq_msg_t *m)
{
    s_query_match_t *x = arg;
    bus_client_t *c = x->c;
    /* Keep the message first: small messages live inside zmq_msg_t, so slices must be taken
     * from the kept copy. */
    if (c->has_qreply)
        zmq_msg_close(&c->qreply);
    zmq_msg_init(&c->qreply);
    zmq_msg_move(&c->qreply, m);
    c->has_qreply = true;
    int rc = codec_decode_qreply(zmq_msg_data(&c->qreply), zmq_msg_size(&c->qreply), x->items,
                                 x->items_cap, x->out);
    if (rc == 0 && strcmp(x->out->request_id, x->request_id) != 0 &&
        !(x->out->request_id[0] == '\0' && x->out->kind == CODEC_QR_ERROR))
        rc = 1; /* a late reply to an earlier request: not ours */
    if (rc != 0) {
        zmq_msg_close(&c->qreply);
        c->has_qreply = false;
    }
    return rc == 1 ? 0 : rc == 0 ? 1 : rc;
}

int bus_query(bus_client_t *c, const codec_query_t *q, codec_slice_t *items, uint32_t items_cap,
              codec_qreply_t *out, int timeout_ms, int retries)
{
    if (!c || !q || !out || (!items && items_cap) || !s_timeouts_ok(timeout_ms, retries))
        return OMS_ERR_INVALID;
    if (!c->query_ep[0])
        return OMS_ERR_STATE;
    if (c->has_qreply) { /* the previous reply's slices end here */
        zmq_msg_close(&c->qreply);
        c->has_qreply = false;
    }
    codec_query_t copy = *q;
    if (copy.request_id[0] == '\0')
        snprintf(copy.request_id, sizeof copy.request_id, "q%s-%llu", c->id_prefix,
                 (unsigned long long)++c->next_id);
    size_t len;
    int rc = codec_encode_query(&copy, c->buf, OMS_LIMIT_MSG_BYTES, &len);
    if (rc)
        return rc;
    s_query_match_t x = {c, copy.request_id, items, items_cap, out};
    rc = s_rpc(c, c->query_ep, &c->query_sock, c->buf, len, timeout_ms, retries, s_query_match, &x);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

const uint8_t *bus_query_reply(const bus_client_t *c, size_t *len)
{
    if (len)
        *len = 0;
    if (!c || !c->has_qreply)
        return NULL;
    if (len)
        *len = zmq_msg_size((zmq_msg_t *)&c->qreply);
    return zmq_msg_data((zmq_msg_t *)&c->qreply);
}
