/* checksum.h: the checksums of stored structures, all xxHash. */
#ifndef UDAX_CHECKSUM_H
#define UDAX_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>
#define XXH_STATIC_LINKING_ONLY /* XXH32_state_t on the stack */
#include <xxhash.h>

static inline uint64_t checksum64(const void *data, size_t len)
{
    return XXH64(data, len, 0);
}

static inline uint32_t checksum32(const void *data, size_t len)
{
    return XXH32(data, len, 0);
}

/* checksum32 of head followed by rest, without copying them together. */
static inline uint32_t checksum32_split(const void *head, size_t head_len, const void *rest, size_t rest_len)
{
    XXH32_state_t state;
    XXH32_reset(&state, 0);
    XXH32_update(&state, head, head_len);
    XXH32_update(&state, rest, rest_len);
    return XXH32_digest(&state);
}

#endif
