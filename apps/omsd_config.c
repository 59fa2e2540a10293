/*
 * omsd_config.c - the daemon's settings: defaults, an optional config file of `key = value`
 * lines, and command-line flags, which override the file. Every key is a flag's name without
 * the leading dashes, so the two are documented once (omsd_usage, etc/omsd.conf.example).
 *
 * Config file: one setting per line; '#' starts a comment; blank lines are ignored; spaces
 * around key and value are ignored; a boolean is true/false, yes/no, on/off or 1/0. At most
 * OMSD_CONFIG_LINES lines of OMSD_CONFIG_LINE_CAP bytes; an unknown key is an error (a typo
 * must not silently leave a default in force).
 */
#include "omsd.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void omsd_config_default(omsd_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->cmd_endpoint, "tcp://127.0.0.1:7701");
    strcpy(cfg->pub_endpoint, "tcp://127.0.0.1:7702");
    strcpy(cfg->query_endpoint, "tcp://127.0.0.1:7703");
    strcpy(cfg->data_dir, "var/oms");
    cfg->durability = EVLOG_SYNC;
    cfg->batch_max = 256;
    cfg->pub_hwm = OMSD_PUB_HWM;
    cfg->log_level = OMSD_LOG_INFO;
    cfg->demo_data = false;
    cfg->reload_orders = OMSD_RELOAD_ORDERS_DEFAULT;
}

void omsd_usage(FILE *f)
{
    fprintf(f,
            "usage: omsd [options]\n"
            "\n"
            "The OMS daemon: sequences commands into the event log, publishes events and answers\n"
            "catch-up and queries (docs/PROTOCOL.md).\n"
            "\n"
            "  --config FILE          read settings from FILE (key = value; flags override)\n"
            "  --cmd-endpoint EP      command ROUTER        (default tcp://127.0.0.1:7701)\n"
            "  --pub-endpoint EP      event PUB             (default tcp://127.0.0.1:7702)\n"
            "  --query-endpoint EP    catch-up/query ROUTER (default tcp://127.0.0.1:7703)\n"
            "  --data-dir DIR         the store             (default var/oms)\n"
            "  --durability MODE      sync (fdatasync per batch, default) or async\n"
            "  --batch-max N          commands per batch, 1..%d (default 256)\n"
            "  --pub-hwm N            events queued per slow subscriber before the PUB drops\n"
            "                         them (they catch up from the log), 1..%d (default %d)\n"
            "  --log-level LEVEL      error, warn, info (default) or debug\n"
            "  --demo-data            load demo principals, instruments and accounts\n"
            "  --reload-orders N      once N more orders are in memory than after the last\n"
            "                         load, and after each end of day, drain and reload the\n"
            "                         state from the store, keeping the working orders only;\n"
            "                         0..%llu, 0 never (default %llu)\n"
            "  --help                 this text\n"
            "\n"
            "Stops cleanly on SIGTERM or SIGINT. Exit status: 0 after a clean stop, 1 on a\n"
            "start-up or storage failure, 2 on bad usage.\n",
            (int)OMS_LIMIT_BATCH_COMMANDS, (int)OMSD_PUB_HWM_MAX, (int)OMSD_PUB_HWM,
            OMSD_RELOAD_ORDERS_MAX, OMSD_RELOAD_ORDERS_DEFAULT);
}

/* Copies value into dst[cap]; OMS_ERR_INVALID if empty or too long. */
static int s_copy(char *dst, size_t cap, const char *key, const char *value, char *err,
                  size_t errcap)
{
    size_t n = strlen(value);
    if (n == 0 || n >= cap) {
        snprintf(err, errcap, "%s: value must be 1..%zu characters", key, cap - 1);
        return OMS_ERR_INVALID;
    }
    memcpy(dst, value, n + 1);
    return 0;
}

static int s_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return OMS_ERR_INVALID;
}

/* Applies one setting (key without dashes). value may be NULL only for demo-data (a flag
 * without value). 0 or OMS_ERR_INVALID with err filled. */
static int s_apply(omsd_config_t *cfg, const char *key, const char *value, char *err,
                   size_t errcap)
{
    if (strcmp(key, "demo-data") == 0) {
        if (value == NULL) {
            cfg->demo_data = true;
            return 0;
        }
        if (s_bool(value, &cfg->demo_data) != 0) {
            snprintf(err, errcap, "demo-data: '%s' is not a boolean", value);
            return OMS_ERR_INVALID;
        }
        return 0;
    }
    if (value == NULL) {
        snprintf(err, errcap, "%s: missing value", key);
        return OMS_ERR_INVALID;
    }
    if (strcmp(key, "cmd-endpoint") == 0)
        return s_copy(cfg->cmd_endpoint, sizeof cfg->cmd_endpoint, key, value, err, errcap);
    if (strcmp(key, "pub-endpoint") == 0)
        return s_copy(cfg->pub_endpoint, sizeof cfg->pub_endpoint, key, value, err, errcap);
    if (strcmp(key, "query-endpoint") == 0)
        return s_copy(cfg->query_endpoint, sizeof cfg->query_endpoint, key, value, err, errcap);
    if (strcmp(key, "data-dir") == 0)
        return s_copy(cfg->data_dir, sizeof cfg->data_dir, key, value, err, errcap);
    if (strcmp(key, "durability") == 0) {
        if (strcmp(value, "sync") == 0)
            cfg->durability = EVLOG_SYNC;
        else if (strcmp(value, "async") == 0)
            cfg->durability = EVLOG_ASYNC;
        else {
            snprintf(err, errcap, "durability: '%s' is not sync or async", value);
            return OMS_ERR_INVALID;
        }
        return 0;
    }
    if (strcmp(key, "batch-max") == 0 || strcmp(key, "pub-hwm") == 0) {
        bool batch = key[0] == 'b';
        unsigned long max = batch ? OMS_LIMIT_BATCH_COMMANDS : OMSD_PUB_HWM_MAX;
        char *end = NULL;
        errno = 0;
        unsigned long v = strtoul(value, &end, 10);
        if (errno || end == value || *end || !isdigit((unsigned char)value[0]) || v < 1 ||
            v > max) {
            snprintf(err, errcap, "%s: '%s' is not a number in 1..%lu", key, value, max);
            return OMS_ERR_INVALID;
        }
        if (batch)
            cfg->batch_max = (uint32_t)v;
        else
            cfg->pub_hwm = (uint32_t)v;
        return 0;
    }
    if (strcmp(key, "reload-orders") == 0) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(value, &end, 10);
        if (errno || end == value || *end || !isdigit((unsigned char)value[0]) ||
            v > OMSD_RELOAD_ORDERS_MAX) {
            snprintf(err, errcap, "reload-orders: '%s' is not a number in 0..%llu", value,
                     OMSD_RELOAD_ORDERS_MAX);
            return OMS_ERR_INVALID;
        }
        cfg->reload_orders = v;
        return 0;
    }
    if (strcmp(key, "log-level") == 0) {
        static const char *const names[] = {"error", "warn", "info", "debug"};
        for (int i = 0; i < 4; i++)
            if (strcmp(value, names[i]) == 0) {
                cfg->log_level = (omsd_level_t)i;
                return 0;
            }
        snprintf(err, errcap, "log-level: '%s' is not error, warn, info or debug", value);
        return OMS_ERR_INVALID;
    }
    snprintf(err, errcap, "unknown setting '%s'", key);
    return OMS_ERR_INVALID;
}

static char *s_trim(char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Reads a config file into cfg. 0 or OMS_ERR_INVALID with "FILE:LINE: reason" in err. */
static int s_read_file(omsd_config_t *cfg, const char *path, char *err, size_t errcap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errcap, "cannot read config file %s: %s", path, strerror(errno));
        return OMS_ERR_INVALID;
    }
    char line[OMSD_CONFIG_LINE_CAP];
    char why[512];
    int rc = 0;
    int lineno = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        if (++lineno > OMSD_CONFIG_LINES) {
            snprintf(err, errcap, "%s: more than %d lines", path, (int)OMSD_CONFIG_LINES);
            rc = OMS_ERR_INVALID;
            break;
        }
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n' && !feof(f)) {
            snprintf(err, errcap, "%s:%d: line longer than %d bytes", path, lineno,
                     (int)OMSD_CONFIG_LINE_CAP - 2);
            rc = OMS_ERR_INVALID;
            break;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = s_trim(line);
        if (!*s)
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errcap, "%s:%d: expected 'key = value'", path, lineno);
            rc = OMS_ERR_INVALID;
            break;
        }
        *eq = '\0';
        char *key = s_trim(s);
        char *value = s_trim(eq + 1);
        if (strcmp(key, "config") == 0) {
            snprintf(err, errcap, "%s:%d: 'config' cannot be set in a config file", path, lineno);
            rc = OMS_ERR_INVALID;
            break;
        }
        if (s_apply(cfg, key, value, why, sizeof why) != 0) {
            snprintf(err, errcap, "%s:%d: %s", path, lineno, why);
            rc = OMS_ERR_INVALID;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errcap, "cannot read config file %s", path);
        rc = OMS_ERR_INVALID;
    }
    fclose(f);
    return rc;
}

/* Splits argv[*i] into key (without "--") and value ("--key=value" or "--key value"; flags
 * without value: demo-data, help). Advances *i past a separate value. */
static int s_flag(int argc, char **argv, int *i, char *key, size_t keycap, const char **value,
                  char *err, size_t errcap)
{
    const char *a = argv[*i];
    if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
        snprintf(err, errcap, "unexpected argument '%s'", a);
        return OMS_ERR_INVALID;
    }
    a += 2;
    const char *eq = strchr(a, '=');
    size_t klen = eq ? (size_t)(eq - a) : strlen(a);
    if (klen >= keycap) {
        snprintf(err, errcap, "unknown flag '%s'", argv[*i]);
        return OMS_ERR_INVALID;
    }
    memcpy(key, a, klen);
    key[klen] = '\0';
    static const char *const known[] = {"config",     "cmd-endpoint", "pub-endpoint",
                                        "query-endpoint", "data-dir", "durability",
                                        "batch-max",  "pub-hwm",      "log-level",    "demo-data",
                                        "reload-orders", "help"};
    bool ok = false;
    for (size_t k = 0; k < sizeof known / sizeof known[0] && !ok; k++)
        ok = strcmp(key, known[k]) == 0;
    if (!ok) {
        snprintf(err, errcap, "unknown flag '%s'", argv[*i]);
        return OMS_ERR_INVALID;
    }
    if (eq) {
        *value = eq + 1;
    } else if (strcmp(key, "demo-data") == 0 || strcmp(key, "help") == 0) {
        *value = NULL;
    } else if (*i + 1 < argc) {
        *value = argv[++*i];
    } else {
        snprintf(err, errcap, "--%s needs a value", key);
        return OMS_ERR_INVALID;
    }
    return 0;
}

int omsd_config_parse(int argc, char **argv, omsd_config_t *cfg, char *err, size_t cap)
{
    char key[64];
    const char *value = NULL;
    const char *config = NULL;
    /* Pass 1: --help and --config. */
    for (int i = 1; i < argc; i++) {
        if (s_flag(argc, argv, &i, key, sizeof key, &value, err, cap) != 0)
            return OMS_ERR_INVALID;
        if (strcmp(key, "help") == 0)
            return 1;
        if (strcmp(key, "config") == 0)
            config = value;
    }
    if (config && s_read_file(cfg, config, err, cap) != 0)
        return OMS_ERR_INVALID;
    /* Pass 2: every other flag, over the file. */
    for (int i = 1; i < argc; i++) {
        if (s_flag(argc, argv, &i, key, sizeof key, &value, err, cap) != 0)
            return OMS_ERR_INVALID;
        if (strcmp(key, "config") == 0)
            continue;
        char why[512];
        if (s_apply(cfg, key, value, why, sizeof why) != 0) {
            if (strncmp(why, "unknown setting", 15) == 0)
                snprintf(err, cap, "unknown flag '--%s'", key);
            else
                snprintf(err, cap, "--%s", why);
            return OMS_ERR_INVALID;
        }
    }
    return 0;
}
