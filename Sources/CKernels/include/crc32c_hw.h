#ifndef CROSSREC_CRC32C_HW_H
#define CROSSREC_CRC32C_HW_H

#include <stddef.h>
#include <stdint.h>

/// Nonzero when this CPU has a CRC-32C instruction (x86-64 SSE4.2, or the AArch64 CRC extension).
int crossrec_crc32c_hw_available(void);

/// Continues a CRC-32C over `length` bytes with the CPU instruction. `state` is the raw
/// register (initially 0xFFFFFFFF, complemented at the end by the caller). Call only when
/// `crossrec_crc32c_hw_available()` returned nonzero.
uint32_t crossrec_crc32c_hw_update(uint32_t state, const void *bytes, size_t length);

#endif
