/* omfs_wire_int.h - what omfs_wire.c and omfs_wire_notify.c share (not a public interface). */
#pragma once
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

/* Packs m into a new buffer (caller owns *ret_buf). Returns 0 or -ENOMEM. */
int omfs_wire_pack(const ProtobufCMessage *m, uint8_t **ret_buf, size_t *ret_len);
