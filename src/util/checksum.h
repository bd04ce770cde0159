/* checksum.h: the checksums of stored structures, all xxHash. */
#ifndef UDAX_CHECKSUM_H
#define UDAX_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>
#include <xxhash.h>

/* Superblocks: XXH64 in every format version, so that a pool of another version is refused for its version. */
static inline uint64_t checksum64(const void *data, size_t len)
{
    return XXH64(data, len, 0);
}

/* Journal slots: XXH3, which costs half the time of XXH64 on a slot's hundred bytes. */
static inline uint64_t checksum64_xxh3(const void *data, size_t len)
{
    return XXH3_64bits(data, len);
}

/*
 * Log entries: the low half of XXH3 of data, seeded. A structure's bytes
 * before its checksum field seed the hash of the bytes after it, so that the
 * checksum covers all of it but the field without a copy that zeroes the
 * field.
 */
static inline uint32_t checksum32_seeded(const void *data, size_t len, uint64_t seed)
{
    return (uint32_t)XXH3_64bits_withSeed(data, len, seed);
}

#endif
