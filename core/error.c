/*
 * error.c - strings for the project's one error enum, generated from the OMS_ERRORS X-macro.
 */
#include "oms_core.h"

const char *oms_strerror(int err)
{
    switch (err) {
#define OMS_ERR_TEXT_(name, value, text)                                                           \
    case value:                                                                                    \
        return text;
        OMS_ERRORS(OMS_ERR_TEXT_)
#undef OMS_ERR_TEXT_
    default:
        return "unknown error";
    }
}

const char *oms_errname(int err)
{
    switch (err) {
#define OMS_ERR_NAME_(name, value, text)                                                           \
    case value:                                                                                    \
        return #name;
        OMS_ERRORS(OMS_ERR_NAME_)
#undef OMS_ERR_NAME_
    default:
        return "OMS_ERR_UNKNOWN";
    }
}
