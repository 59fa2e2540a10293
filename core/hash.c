/*
 * hash.c - BLAKE2b-256 over libsodium's crypto_generichash, for the event log's hash chain,
 * and the SipHash-128 content digest of idempotency rows.
 *
 * Load: called once per appended and per verified event, so it is on the hot path; it never
 * allocates. The streaming state lives in caller memory (oms_hash_state_t).
 */
#include "oms_core.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

_Static_assert(sizeof(crypto_generichash_state) <= sizeof(((oms_hash_state_t *)0)->opaque),
               "oms_hash_state_t too small for crypto_generichash_state");
_Static_assert(OMS_HASH_LEN >= crypto_generichash_BYTES_MIN &&
                   OMS_HASH_LEN <= crypto_generichash_BYTES_MAX,
               "BLAKE2b output length");

int oms_hash_init(void)
{
    /* sodium_init is thread-safe and idempotent: 0 first time, 1 when already done. */
    return sodium_init() < 0 ? OMS_ERR_INVALID : 0;
}

void oms_hash(const void *data, size_t len, oms_hash_t *out)
{
    assert(out != NULL && (data != NULL || len == 0));
    int rc = crypto_generichash(out->bytes, OMS_HASH_LEN, data, len, NULL, 0);
    assert(rc == 0);
    (void)rc;
}

void oms_hash_begin(oms_hash_state_t *st)
{
    assert(st != NULL);
    int rc = crypto_generichash_init((crypto_generichash_state *)st->opaque, NULL, 0, OMS_HASH_LEN);
    assert(rc == 0);
    (void)rc;
}

void oms_hash_update(oms_hash_state_t *st, const void *data, size_t len)
{
    assert(st != NULL && (data != NULL || len == 0));
    crypto_generichash_update((crypto_generichash_state *)st->opaque, data, len);
}

void oms_hash_end(oms_hash_state_t *st, oms_hash_t *out)
{
    assert(st != NULL && out != NULL);
    int rc =
        crypto_generichash_final((crypto_generichash_state *)st->opaque, out->bytes, OMS_HASH_LEN);
    assert(rc == 0);
    (void)rc;
}

int oms_hash_hex(const oms_hash_t *h, char *buf, size_t cap)
{
    assert(h != NULL && buf != NULL && cap >= 2 * OMS_HASH_LEN + 1);
    sodium_bin2hex(buf, cap, h->bytes, OMS_HASH_LEN);
    return 2 * OMS_HASH_LEN;
}

_Static_assert(OMS_DIGEST128_LEN == crypto_shorthash_siphashx24_BYTES, "SipHash-128 output");

/* The key is part of the stored format (schema version 2): never change it. */
static const uint8_t k_digest_key[crypto_shorthash_siphashx24_KEYBYTES] = "oms.v1 idem key";

void oms_digest128(const void *data, size_t len, uint8_t out[OMS_DIGEST128_LEN])
{
    assert(out != NULL && (data != NULL || len == 0));
    crypto_shorthash_siphashx24(out, data, len, k_digest_key);
}

bool oms_hash_equal(const oms_hash_t *a, const oms_hash_t *b)
{
    return sodium_memcmp(a->bytes, b->bytes, OMS_HASH_LEN) == 0;
}
