/* sparse_image.h: the fuzzers' input format, a pool image as its non-zero 64-byte lines. */
#ifndef UDAX_SPARSE_IMAGE_H
#define UDAX_SPARSE_IMAGE_H

#include <stdint.h>

#define SPARSE_LINE 64
#define SPARSE_POOL_SIZE (8ULL << 20)

/* One record: a little-endian line index (taken modulo the pool's lines), then the line's 64 bytes. */
struct sparse_record {
    uint32_t line;
    uint8_t bytes[SPARSE_LINE];
} __attribute__((packed));

#endif
