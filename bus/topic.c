/*
 * topic.c - the PUB topic of an event envelope, "family/account/type" (docs/PROTOCOL.md,
 * "Topic grammar"). The daemon publishes under it; the subscriber computes the same topic for
 * events it reads through catch-up, to apply its filters to them. Reads the envelope in place
 * (evlog_record_parse) and peeks at the event (codec_event_peek): no decode, no allocation.
 */
#include "bus.h"

#include <stdio.h>
#include <string.h>

/* The family of an Event.body field number, NULL for numbers outside the grammar's ranges. */
static const char *s_family(oms_event_type_t t)
{
    int n = (int)t;
    if (n >= 1 && n <= 99)
        return "ref";
    if (n >= 100 && n <= 199)
        return "ord";
    if (n >= 200 && n <= 299)
        return "exe";
    if (n >= 300 && n <= 399)
        return "alc";
    if (n == 400)
        return "rej";
    if (n == 401)
        return "exc";
    if (n >= 500 && n <= 599)
        return "day";
    return NULL;
}

int bus_topic_info(const uint8_t *envelope, size_t len, bus_topic_info_t *out)
{
    if (!out || (!envelope && len))
        return OMS_ERR_INVALID;
    memset(out, 0, sizeof *out);
    evlog_record_t rec;
    if (!envelope || evlog_record_parse(envelope, len, &rec) != 0)
        return OMS_ERR_CORRUPT;
    codec_event_peek_t pk;
    int rc = codec_event_peek(rec.body, rec.body_len, &pk);
    if (rc)
        return rc;
    const char *fam = s_family(pk.type);
    if (!fam || rec.order_id_len > OMS_LIMIT_ID_LEN ||
        (rec.order_id_len && memchr(rec.order_id, 0, rec.order_id_len)))
        return OMS_ERR_DECODE;
    out->seq = rec.seq;
    out->type = pk.type;
    out->family = fam;
    out->type_name = oms_event_type_name(pk.type);
    /* The order whose account it may be: the body's order id, else the envelope's. */
    if (pk.order_id[0]) {
        memcpy(out->order_id, pk.order_id, sizeof out->order_id);
    } else {
        if (rec.order_id_len)
            memcpy(out->order_id, rec.order_id, rec.order_id_len);
        out->order_id[rec.order_id_len] = '\0';
    }
    if (pk.type == OMS_EV_ORDER_ACCEPTED || strcmp(fam, "exe") == 0) {
        memcpy(out->account, pk.account_id, sizeof out->account);
    } else if (pk.type == OMS_EV_COMMAND_REJECTED) {
        /* The refused command's account: a new order's own; an allocation's none (blocks);
         * else the account of the order it names; none when it names no order. */
        if (pk.cmd_type == OMS_CMD_NEW_ORDER)
            memcpy(out->account, pk.account_id, sizeof out->account);
        else if (pk.cmd_type != OMS_CMD_ALLOCATE && pk.cmd_type != OMS_CMD_REVERSE_ALLOCATION &&
                 pk.cmd_type != OMS_CMD_NONE && pk.order_id[0])
            out->account_of_order = true;
        else
            out->order_id[0] = '\0';
    } else if (strcmp(fam, "ord") == 0 || pk.type == OMS_EV_EXCEPTION_RAISED) {
        out->account_of_order = true;
    }
    /* ref, alc, day: no account */
    return 0;
}

int bus_topic_format(const bus_topic_info_t *info, const char *order_account, char *topic,
                     size_t cap)
{
    if (!info || !info->family || !info->type_name || !topic)
        return OMS_ERR_INVALID;
    const char *acct =
        info->account_of_order ? (order_account ? order_account : "") : info->account;
    int n = snprintf(topic, cap, "%s/%s/%s", info->family, acct, info->type_name);
    if (n < 0 || (size_t)n >= cap)
        return OMS_ERR_LIMIT;
    return n;
}

int bus_topic_of(const uint8_t *envelope, size_t len, const char *order_account, char *topic,
                 size_t cap)
{
    bus_topic_info_t info;
    int rc = bus_topic_info(envelope, len, &info);
    return rc ? rc : bus_topic_format(&info, order_account, topic, cap);
}
