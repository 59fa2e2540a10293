/*
 * bus.h - the bus library's interface: how every program talks to omsd over ZeroMQ
 * (docs/PROTOCOL.md is the contract). Three parts:
 *
 *   bus_client_t  a DEALER to the command endpoint and one to the read endpoint: submit a
 *                 command and wait for its durable reply, run a query; both with Lazy Pirate
 *                 retries (on a timeout: close the socket, open a new one, send the SAME bytes)
 *   bus_sub_t     the Clone-pattern subscriber: subscribe to the event PUB, catch up from the
 *                 application's last seq through the read endpoint, and from then on deliver
 *                 every event (matching the topic filters) exactly once, in seq order, refilling
 *                 any gap from the log
 *   topics        the PUB topic of an envelope ("family/account/type"), for the daemon that
 *                 publishes and for the subscriber that filters caught-up events the same way
 *
 * No threads: the caller drives everything; each object is used by one thread at a time. Each
 * client and subscriber owns a ZeroMQ context of its own unless given one. Every wait is
 * bounded by a timeout, every retry loop by a count, every buffer by a limit below.
 *
 * Subscriber semantics (bus_sub_next):
 *  - Delivered: every event with seq > the last seq processed whose topic starts with one of
 *    the filters (no filter or "" = every event), each exactly once, in ascending seq order.
 *  - "Processed" includes events that did not match: the subscriber tracks the log position
 *    (bus_sub_last_seq), not just the last delivery, so gaps are seen by seq alone.
 *  - Live events (PUB) are delivered when their seq is exactly the next one. A live event past
 *    the next seq means events were missed (publisher or subscriber high-water mark, a reconnect,
 *    or simply events that did not match the filters): the range in between is fetched from
 *    the read endpoint (which returns ALL events), the matching ones among them are delivered
 *    first, then the live one. With narrow filters, then, most events are read through
 *    catch-up; that is the price of exactly-once with prefix filters on a global sequence.
 *  - Silence: after probe_ms without a live event (default BUS_SUB_PROBE_MS) the subscriber asks
 *    the read endpoint for anything after its position, so a lost tail (the last events
 *    published before a pause) is never left undelivered.
 *  - Filtering a caught-up event needs its topic, whose account for order events (other than
 *    order_accepted), exceptions and most rejections is the order's (bus_topic_info): the
 *    subscriber learns order -> account from
 *    OrderAccepted events and live topics it sees, and asks the read endpoint (an `order`
 *    query) for orders it has not seen, caching the answers (BUS_ORDER_CACHE entries). Only
 *    filters that name an account for those families need this.
 *  - Verification: every envelope must parse (evlog_record_parse) and have the expected seq;
 *    by default (bus_sub_set_verify) its hash must also be the BLAKE2b-256 of its bytes and its
 *    prev_hash the previous envelope's hash (from the second event processed on, or from seq 1).
 *    A caught-up envelope that fails is OMS_ERR_CORRUPT; a live one that fails is dropped and
 *    read from the log instead.
 *  - A live event whose predecessors the read endpoint does not have yet (its reader lags the
 *    writer for a moment) is held while the subscriber asks again every few milliseconds, until
 *    the caller's timeout; the next call goes on.
 */
#ifndef OMS_BUS_H
#define OMS_BUS_H

#include "codec.h"
#include "oms_core.h"
#include "oms_model.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- limits ------------------------------------------------------------------------------- */

enum {
    BUS_RETRIES_MAX = 16,          /* retries of one request after its first attempt */
    BUS_TIMEOUT_MS_MAX = 600000,   /* longest wait for one attempt */
    BUS_ENDPOINT_CAP = 256,        /* bytes of an endpoint, with NUL */
    BUS_TOPIC_CAP = 160,           /* bytes of a topic, with NUL: family/account/type */
    BUS_TOPICS_MAX = 64,           /* topic filters of one subscriber */
    BUS_RAW_FRAMES_MAX = 16,       /* frames bus_submit_raw sends */
    BUS_SUB_BUFFER_DEFAULT = 4096, /* live events a subscriber buffers while catching up */
    BUS_SUB_BUFFER_MAX = 1 << 20,  /* most it may be set to */
    BUS_SUB_PAGE_DEFAULT = 1000,   /* events asked per catch-up request */
    BUS_SUB_PROBE_MS = 1000,       /* silence after which the subscriber asks for the tail */
    BUS_QUERY_TIMEOUT_MS = 2000,   /* the subscriber's catch-up attempts */
    BUS_QUERY_RETRIES = 2,         /* and its retries */
    BUS_ORDER_CACHE = 4096,        /* order -> account entries a subscriber remembers */
    BUS_MAXMSG_BYTES = 4 << 20,    /* ZMQ_MAXMSGSIZE of the client's sockets */
    BUS_STOP_POLL_MS = 50,         /* longest wait between looks at a stop flag */
};

/* ---- topics (topic.c) --------------------------------------------------------------------- */

/* What an envelope's topic is made of. */
typedef struct {
    uint64_t seq;              /* the envelope's seq */
    oms_event_type_t type;     /* its event's body case */
    const char *family;        /* "ref", "ord", "exe", "alc", "rej", "exc" or "day" (static) */
    const char *type_name;     /* the body case's name, e.g. "order_filled" (static) */
    char account[OMS_ID_CAP];  /* the account, when the event names it (see account_of_order) */
    bool account_of_order;     /* the account is the order's (order_id), which the event does
                                  not carry: ord events but order_accepted, exc, and rej of
                                  commands naming an order */
    char order_id[OMS_ID_CAP]; /* the order concerned ("" when none) */
} bus_topic_info_t;

/* Reads an envelope's topic parts (no copy of the body, no allocation). The account, per
 * PROTOCOL.md and as omsd computes it: empty for ref, alc (allocations are of block orders)
 * and day; exe: the event's account_id ("" for a block); ord order_accepted: its account_id;
 * other ord and exc: the account of the order (account_of_order: the caller supplies it); rej:
 * a refused NewOrder's account_id, none for Allocate / ReverseAllocation, the account of the
 * order the refused command names (account_of_order), none when it names no order.
 * order_id: the order concerned (the body's order id, the refused command's for rej, else the
 * envelope's). OMS_ERR_CORRUPT when the envelope does not parse, OMS_ERR_DECODE when its event
 * has no body this version knows or an over-long id. */
int bus_topic_info(const uint8_t *envelope, size_t len, bus_topic_info_t *out);

/* Formats "family/account/type" into topic[cap]; account = order_account (NULL = "") when
 * info->account_of_order, else info->account. Returns the length, or OMS_ERR_LIMIT when cap is
 * too small (BUS_TOPIC_CAP always suffices). */
int bus_topic_format(const bus_topic_info_t *info, const char *order_account, char *topic,
                     size_t cap);

/* bus_topic_info then bus_topic_format: the topic omsd publishes an envelope under. Returns the
 * length or a negative oms_err_t. */
int bus_topic_of(const uint8_t *envelope, size_t len, const char *order_account, char *topic,
                 size_t cap);

/* ---- the client (client.c) ---------------------------------------------------------------- */

typedef struct bus_client bus_client_t;

/* Creates a client for the command endpoint and/or the read endpoint (either may be NULL when
 * not used; at most BUS_ENDPOINT_CAP - 1 bytes). zctx: a ZeroMQ context to use (the caller's,
 * kept alive by the caller until destroy), or NULL to own one. Sockets connect lazily, on the
 * first request. 0, OMS_ERR_INVALID (no endpoint, an over-long one), OMS_ERR_NOMEM,
 * OMS_ERR_IO (no context). */
int bus_client_new(void *zctx, const char *cmd_endpoint, const char *query_endpoint,
                   bus_client_t **out);

/* Closes the sockets (linger 0: nothing unsent is kept), the owned context, and sets *self_p to
 * NULL. NULL is a no-op. */
void bus_client_destroy(bus_client_t **self_p);

/* A stop flag (the caller's, typically set by a SIGTERM handler; NULL: none) that requests in
 * progress watch: once *stop is non-zero, bus_submit, bus_submit_encoded, bus_submit_raw and
 * bus_query return OMS_ERR_INTERRUPTED within about BUS_STOP_POLL_MS instead of finishing their
 * timeouts and retries (a signal interrupting a wait is noticed at once). A command already
 * sent may still be processed: its reply is lost, and a retry with the same command id after a
 * restart is answered DUPLICATE. The flag must outlive the client. */
void bus_client_set_stop(bus_client_t *c, const volatile sig_atomic_t *stop);

/* Submits a command and waits for its reply. Encodes it ONCE (codec_encode_command); an empty
 * cmd->command_id is replaced by a fresh random 128-bit id in hex (reply->command_id shows it).
 * Waits up to timeout_ms (1..BUS_TIMEOUT_MS_MAX) for a CommandReply answering that command id;
 * replies to other commands (late answers to earlier requests) are discarded. On a timeout, the
 * socket is closed and reopened and the same bytes sent again, up to `retries` more times
 * (0..BUS_RETRIES_MAX): idempotency makes that safe (the retry gets DUPLICATE or the first
 * processing). Returns 0 with *reply filled whatever its status (ACCEPTED, REJECTED, DUPLICATE,
 * ERROR: look at it), OMS_ERR_IO when no reply came after every attempt (daemon down or stuck),
 * OMS_ERR_DECODE for a reply that is not a CommandReply, OMS_ERR_INVALID / OMS_ERR_LIMIT for a
 * command that does not encode (nothing sent), OMS_ERR_STATE without a command endpoint. */
int bus_submit(bus_client_t *c, const oms_cmd_t *cmd, oms_reply_t *reply, int timeout_ms,
               int retries);

/* The same with an already encoded Command (buf[len], at most OMS_LIMIT_MSG_BYTES) whose
 * command id is command_id (to recognise its reply). Sends buf as it is. */
int bus_submit_encoded(bus_client_t *c, const uint8_t *buf, size_t len, const char *command_id,
                       oms_reply_t *reply, int timeout_ms, int retries);

/* Sends n_frames (1..BUS_RAW_FRAMES_MAX) arbitrary frames as one message on the command socket
 * and copies the first frame of the first reply into reply[cap] (*reply_len = its full
 * length; cut to cap). No retry, no matching: for tests of malformed input. 0, OMS_ERR_IO
 * (timeout: the socket is then reset), OMS_ERR_INVALID, OMS_ERR_STATE (no command endpoint). */
int bus_submit_raw(bus_client_t *c, const uint8_t *const *frames, const size_t *lens,
                   size_t n_frames, uint8_t *reply, size_t cap, size_t *reply_len, int timeout_ms);

/* Runs a query on the read endpoint with the same Lazy Pirate retries (queries are
 * idempotent). An empty q->request_id is replaced by a fresh one. The reply is decoded into
 * *out and items[0 .. out->n_items) (codec_decode_qreply), slices of the reply kept inside the
 * client: valid until the next bus_query on this client or its destroy (bus_query_reply gives
 * the raw bytes). Returns 0 whatever the result (an ErrorReply is out->kind == CODEC_QR_ERROR),
 * OMS_ERR_IO after every attempt timed out, OMS_ERR_DECODE / OMS_ERR_LIMIT when the reply does
 * not decode or has more entries than items_cap, OMS_ERR_STATE without a read endpoint,
 * OMS_ERR_INVALID / OMS_ERR_LIMIT when the query does not encode. */
int bus_query(bus_client_t *c, const codec_query_t *q, codec_slice_t *items, uint32_t items_cap,
              codec_qreply_t *out, int timeout_ms, int retries);

/* The bytes of the last reply bus_query returned 0 for (NULL, 0 when none). */
const uint8_t *bus_query_reply(const bus_client_t *c, size_t *len);

/* ---- the subscriber (sub.c) ------------------------------------------------------------- */

typedef struct bus_sub bus_sub_t;

/* Counters of a subscriber, for monitoring and tests. */
typedef struct {
    uint64_t delivered;        /* events handed to the application */
    uint64_t delivered_live;   /* of which straight from the PUB */
    uint64_t skipped_filter;   /* caught-up events that did not match the filters */
    uint64_t live_received;    /* live events received */
    uint64_t live_duplicates;  /* live events at or below the position (already processed) */
    uint64_t live_dropped;     /* live events dropped because the buffer was full */
    uint64_t live_bad;         /* live events that failed to parse or verify */
    uint64_t gaps;             /* live events past the next seq (a range was caught up) */
    uint64_t probes;           /* catch-ups after silence */
    uint64_t catchup_requests; /* catch-up queries answered */
    uint64_t catchup_events;   /* events received through them */
    uint64_t order_lookups;    /* order queries made to learn an account */
} bus_sub_stats_t;

/* Creates a subscriber: connects a SUB to pub_endpoint and subscribes to each topic prefix
 * (topics may be NULL with n_topics 0: everything; at most BUS_TOPICS_MAX, each shorter than
 * BUS_TOPIC_CAP), and a client to query_endpoint for catch-up. Delivery starts after
 * last_seq (0 = from the first event). rcvhwm: the SUB's ZMQ_RCVHWM (0 = ZeroMQ's default).
 * zctx as for bus_client_new. Nothing is fetched before the first bus_sub_next. 0,
 * OMS_ERR_INVALID, OMS_ERR_NOMEM, OMS_ERR_IO (the socket could not be set up). */
int bus_sub_new(void *zctx, const char *pub_endpoint, const char *query_endpoint,
                const char *const *topics, size_t n_topics, uint64_t last_seq, int rcvhwm,
                bus_sub_t **out);

/* Destroys the subscriber (sockets, buffered events, owned context); sets *self_p to NULL. */
void bus_sub_destroy(bus_sub_t **self_p);

/* Tunables, each 0 or OMS_ERR_INVALID for a value out of range:
 *   page     events per catch-up request, 1..OMS_LIMIT_CATCHUP_EVENTS
 *   buffer   live events buffered, 1..BUS_SUB_BUFFER_MAX (only before the first bus_sub_next:
 *            OMS_ERR_STATE after)
 *   probe_ms silence before asking for the tail, 1..BUS_TIMEOUT_MS_MAX
 *   query    each catch-up / order query's timeout and retries (as bus_query)
 *   verify   check hashes and their chain (default true) */
int bus_sub_set_page(bus_sub_t *s, uint32_t events);
int bus_sub_set_buffer(bus_sub_t *s, uint32_t events);
int bus_sub_set_probe_ms(bus_sub_t *s, int probe_ms);
int bus_sub_set_query(bus_sub_t *s, int timeout_ms, int retries);
void bus_sub_set_verify(bus_sub_t *s, bool verify);
/* The stop flag of bus_client_set_stop for the subscriber's waits and queries: once *stop is
 * non-zero, bus_sub_next returns OMS_ERR_INTERRUPTED within about BUS_STOP_POLL_MS (the
 * position is unchanged). NULL: none. */
void bus_sub_set_stop(bus_sub_t *s, const volatile sig_atomic_t *stop);

/* Delivers the next event: returns 1 with *envelope / *len (the serialized EventEnvelope as
 * stored, hash included; valid until the next call on s) and *seq; 0 when none came within
 * timeout_ms (0..BUS_TIMEOUT_MS_MAX; a catch-up under way may add up to its query timeout x
 * attempts); OMS_ERR_IO when the read endpoint did not answer a catch-up (or order lookup)
 * after its retries, OMS_ERR_CORRUPT when the log's envelopes do not parse, verify, or follow
 * each other, OMS_ERR_DECODE for an undecodable catch-up reply, the error code of an
 * ErrorReply to one. After an error the position is unchanged and the next call tries again. */
int bus_sub_next(bus_sub_t *s, const uint8_t **envelope, size_t *len, uint64_t *seq,
                 int timeout_ms);

/* The subscriber's position: the last seq processed (delivered or filtered out). */
uint64_t bus_sub_last_seq(const bus_sub_t *s);

/* A copy of its counters. */
void bus_sub_stats(const bus_sub_t *s, bus_sub_stats_t *out);

#endif /* OMS_BUS_H */
