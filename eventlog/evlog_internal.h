/*
 * evlog_internal.h - declarations shared by the event log's own files (not part of the
 * interface; only eventlog/ includes it).
 */
#ifndef OMS_EVLOG_INTERNAL_H
#define OMS_EVLOG_INTERNAL_H

#include "eventlog.h"

/* Upper bound of the encoded size of an envelope with these field lengths (for buffers). */
size_t evlog_envelope_max_len(size_t principal_len, size_t command_id_len, size_t order_id_len,
                              size_t body_len);

/* Encodes the envelope of ev with this seq and prev hash into out (at least
 * evlog_envelope_max_len bytes), hash field last; stores the envelope's hash in *hash_out and
 * returns the encoded length. Never fails: the caller has checked the limits. */
size_t evlog_envelope_encode(uint8_t *out, uint64_t seq, const evlog_event_t *ev,
                             size_t principal_len, size_t command_id_len, size_t order_id_len,
                             const oms_hash_t *prev, oms_hash_t *hash_out);

#endif /* OMS_EVLOG_INTERNAL_H */
