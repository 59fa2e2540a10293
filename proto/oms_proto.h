/*
 * oms_proto.h - the proto library's interface: the C types protoc-c generates from the OMS wire
 * schema, package oms.v1 (the .proto files in proto/oms/v1/).
 *
 * The schema is the one contract between the OMS and everything outside it: commands in,
 * replies out, events in the log and on the stream, query replies. The generated code is built
 * into the build tree at build time and included, per DESIGN.md, only by the codec and the event
 * log; the rest of the OMS works on its own structs.
 *
 *   common    Decimal (int64, 8 implied decimals), Decimal128, enums, reason codes
 *   commands  Command and its bodies (reference data, orders, execution reports, allocations)
 *   events    Event and its bodies (one per fact in the log)
 *   envelope  EventEnvelope (seq, time, causation, hash chain) and its pre-serialized twin
 *   state     snapshots: Order, Execution, Position, Allocation, reference data
 *   bus       CommandReply, QueryRequest / QueryReply (catch-up, queries, stats), ErrorReply
 *
 * C names follow protoc-c: message oms.v1.NewOrder is Oms__V1__NewOrder, packed with
 * oms__v1__new_order__pack(); enum value SIDE_BUY is OMS__V1__SIDE__SIDE_BUY.
 */
#ifndef OMS_PROTO_H
#define OMS_PROTO_H

#include "oms/v1/common.pb-c.h"
#include "oms/v1/commands.pb-c.h"
#include "oms/v1/events.pb-c.h"
#include "oms/v1/envelope.pb-c.h"
#include "oms/v1/state.pb-c.h"
#include "oms/v1/bus.pb-c.h"

#endif /* OMS_PROTO_H */
