/* checksum.h: the checksums of stored structures, all xxHash. */
#ifndef UDAX_CHECKSUM_H
#define UDAX_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>
#include <xxhash.h>

static inline uint64_t checksum64(const void *data, size_t len)
{
    return XXH64(data, len, 0);
}

static inline uint32_t checksum32(const void *data, size_t len)
{
    return XXH32(data, len, 0);
}

#endif
