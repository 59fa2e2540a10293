/*
 * evlog_internal.h - declarations shared by the event log's own files (not part of the
 * interface; only eventlog/ includes it).
 */
#ifndef OMS_EVLOG_INTERNAL_H
#define OMS_EVLOG_INTERNAL_H

#include "eventlog.h"

/* Envelopes whose heads are hashed side by side (oms_hash_absorb_many's 8 AVX-512 lanes). */
#define EVLOG_HASH_CHUNK 8

/* Upper bound of the encoded size of an envelope with these field lengths (for buffers). */
size_t evlog_envelope_max_len(size_t principal_len, size_t command_id_len, size_t order_id_len,
                              size_t body_len);

/* Encodes the head of ev's envelope (fields 1 to 7: everything that does not depend on the
 * chain) with this seq into out (at least evlog_envelope_max_len bytes); returns its length.
 * Never fails: the caller has checked the limits. */
size_t evlog_envelope_encode_head(uint8_t *out, uint64_t seq, const evlog_event_t *ev,
                                  size_t principal_len, size_t command_id_len,
                                  size_t order_id_len);
/* Closes the envelope whose head of head_len bytes is at out: appends prev_hash (field 14),
 * hashes everything up to there from mid (the state after the head's first mid->t bytes, a
 * multiple of 128 and <= head_len), stores the hash in *hash_out and appends it (field 15).
 * Returns the envelope's length. Never fails. */
size_t evlog_envelope_close(uint8_t *out, size_t head_len, const oms_hash_mid_t *mid,
                            const oms_hash_t *prev, oms_hash_t *hash_out);

#endif /* OMS_EVLOG_INTERNAL_H */
