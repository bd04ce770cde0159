/* format.h: the on-media layout of a pool, every structure that is stored (see docs/format.md). */
#ifndef UDAX_FORMAT_H
#define UDAX_FORMAT_H

#include <assert.h>
#include <stdint.h>

#define UDAX_BLOCK_SHIFT 12
#define UDAX_BLOCK_SIZE (1ULL << UDAX_BLOCK_SHIFT)
#define UDAX_HUGE_SHIFT 21
#define UDAX_HUGE_SIZE (1ULL << UDAX_HUGE_SHIFT)
#define UDAX_BLOCKS_PER_HUGE (UDAX_HUGE_SIZE / UDAX_BLOCK_SIZE)

#define UDAX_MAGIC 0x4c4f4f5058414455ULL /* "UDAXPOOL" */
/*
 * 2: attributes span two slots, with birth time and rdev; 3: dentries carry
 * their directory's new times, journal slots a sequence; 4: entries and
 * journal slots are checksummed with XXH3
 */
#define UDAX_FORMAT_VERSION 4
#define UDAX_SUPER_PRIMARY_BLOCK 0
#define UDAX_SUPER_BACKUP_BLOCK 1
#define UDAX_OWNER_OFFSET 2048 /* within the primary superblock's block */
#define UDAX_ROOT_INO 1
#define UDAX_NAME_MAX 255

struct udax_super {
    uint64_t magic;
    uint32_t version;
    uint32_t block_size;
    uint8_t uuid[16];
    uint64_t pool_size;
    uint64_t block_count;
    uint64_t inode_count;
    uint64_t inode_table_block;
    uint64_t inode_table_blocks;
    uint64_t journal_block;
    uint32_t journal_slots;
    uint32_t data_mode;
    uint64_t data_block;
    uint64_t created_time;
    uint64_t root_ino;
    uint64_t checksum; /* XXH64 of every byte before it */
};

/* Which process holds the pool open; advisory, next to the OFD lock that enforces it. */
struct udax_owner {
    uint64_t pid;
};

/* One slot of the inode table. Both words are single 8-byte stores; head 0 means free. */
struct udax_inode_rec {
    uint64_t log_head; /* pool offset of the first log page */
    uint64_t log_tail; /* pool offset one past the last committed entry */
    uint64_t reserved[6];
};
static_assert(sizeof(struct udax_inode_rec) == 64, "inode record size");

#define UDAX_LOG_PAGE_MAGIC 0x45474150474f4c55ULL /* "ULOGPAGE" */
#define UDAX_SLOT_SIZE 64
#define UDAX_SLOTS_PER_PAGE (UDAX_BLOCK_SIZE / UDAX_SLOT_SIZE)

/* Slot 0 of every log page. */
struct udax_log_page_header {
    uint64_t magic;
    uint64_t ino;
    uint64_t next; /* pool offset of the next log page, meaningful only while the tail is past this page */
    uint64_t reserved[5];
};
static_assert(sizeof(struct udax_log_page_header) == UDAX_SLOT_SIZE, "log page header size");

enum udax_entry_type {
    UDAX_ENTRY_PAD = 1,       /* the rest of this page is unused; go to the next page */
    UDAX_ENTRY_ATTR = 2,      /* a full snapshot of the attributes; a smaller size drops blocks past it */
    UDAX_ENTRY_EXTENT = 3,    /* file pages map to pool blocks */
    UDAX_ENTRY_PUNCH = 4,     /* file pages become a hole */
    UDAX_ENTRY_DENTRY_ADD = 5,
    UDAX_ENTRY_DENTRY_DEL = 6,
    UDAX_ENTRY_XATTR_SET = 7, /* an extended attribute is added or replaced */
    UDAX_ENTRY_XATTR_DEL = 8, /* an extended attribute is removed */
};

/* Set on the last entry of each commit, so that fsck can cut a damaged log back to a state it really had. */
#define UDAX_ENTRY_LAST 0x01

struct udax_entry_header {
    uint8_t type;
    uint8_t slots;     /* how many 64-byte slots the entry spans */
    uint8_t name_len;  /* dentries and extended attributes only */
    uint8_t flags;     /* UDAX_ENTRY_LAST; zero in pools written before it existed */
    uint32_t checksum; /* log_entry_checksum: XXH3 of the slots after the header, seeded with its first word */
};
static_assert(UDAX_NAME_MAX <= UINT8_MAX, "a name length fits its byte");

struct udax_attr {
    uint32_t mode;
    uint32_t uid;
    uint32_t gid;
    uint32_t nlink;
    uint64_t size;
    int64_t atime_ns;
    int64_t mtime_ns;
    int64_t ctime_ns;
    uint64_t parent; /* directories: the inode holding its name */
    int64_t btime_ns;
    uint64_t rdev;   /* character and block devices */
    uint64_t reserved[6];
};

struct udax_entry_attr {
    struct udax_entry_header h;
    struct udax_attr attr;
};
static_assert(sizeof(struct udax_entry_attr) == 2 * UDAX_SLOT_SIZE, "attr entry size");

struct udax_entry_extent {
    struct udax_entry_header h;
    uint64_t page;   /* first file page */
    uint64_t block;  /* first pool block */
    uint64_t count;  /* pages */
    uint64_t size;   /* file size after the entry */
    int64_t mtime_ns;
    int64_t ctime_ns;
    uint64_t reserved;
};
static_assert(sizeof(struct udax_entry_extent) == UDAX_SLOT_SIZE, "extent entry size");

struct udax_entry_punch {
    struct udax_entry_header h;
    uint64_t page;
    uint64_t count;
    int64_t mtime_ns;
    int64_t ctime_ns;
    uint64_t reserved[3];
};
static_assert(sizeof(struct udax_entry_punch) == UDAX_SLOT_SIZE, "punch entry size");

/*
 * The name continues into the following slots; slots = 1 + ceil((name_len -
 * first) / 64). A name change is also a change of its directory's mtime and
 * ctime, which the entry carries, so that it needs no ATTR entry besides.
 */
struct udax_entry_dentry {
    struct udax_entry_header h;
    uint64_t ino;
    int64_t dir_time_ns; /* the directory's new mtime and ctime; 0 leaves them (compaction, fsck) */
    uint8_t file_type;   /* DT_REG, DT_DIR, ... */
    char name[UDAX_SLOT_SIZE - 25];
};
static_assert(sizeof(struct udax_entry_dentry) == UDAX_SLOT_SIZE, "dentry entry size");
#define UDAX_DENTRY_NAME_FIRST (UDAX_SLOT_SIZE - 25)
#define UDAX_DENTRY_MAX_SLOTS (1 + (UDAX_NAME_MAX - UDAX_DENTRY_NAME_FIRST + UDAX_SLOT_SIZE - 1) / UDAX_SLOT_SIZE)

/* The largest entry of any type: every slot of a log page after its header. */
#define UDAX_ENTRY_MAX_SLOTS (UDAX_SLOTS_PER_PAGE - 1)

/*
 * XATTR_SET and XATTR_DEL: the name (h.name_len bytes, with its namespace
 * prefix) and, for XATTR_SET, value_len bytes of value right after it,
 * continuing into the following slots. One entry never leaves its log page,
 * which bounds name plus value by UDAX_XATTR_DATA_MAX.
 */
struct udax_entry_xattr {
    struct udax_entry_header h;
    uint32_t value_len; /* 0 in XATTR_DEL */
    uint32_t reserved;
    char data[UDAX_SLOT_SIZE - 16];
};
static_assert(sizeof(struct udax_entry_xattr) == UDAX_SLOT_SIZE, "xattr entry size");
#define UDAX_XATTR_DATA_FIRST (UDAX_SLOT_SIZE - 16)
#define UDAX_XATTR_DATA_MAX (UDAX_ENTRY_MAX_SLOTS * UDAX_SLOT_SIZE - 16) /* 4016 bytes */

/*
 * A journal slot is one block: an undo record of every 8-byte word that a
 * multi-inode operation is about to change. state holds the sequence number
 * of the slot's latest record, with UDAX_JOURNAL_LIVE while it is live. The
 * record, its state and its checksum are written together and are live only
 * when the checksum matches all of them: a record torn by a crash, or the
 * record of an earlier sequence left in the slot, is not. Recovery writes the
 * old values of a live record back.
 */
#define UDAX_JOURNAL_LIVE (1ULL << 63)
#define UDAX_JOURNAL_MAX_RECORDS 250

struct udax_journal_record {
    uint64_t offset; /* pool offset of the word */
    uint64_t old_value;
};

struct udax_journal_slot {
    uint64_t state;    /* sequence, | UDAX_JOURNAL_LIVE while live */
    uint32_t count;
    uint32_t reserved;
    uint64_t checksum; /* XXH3 of the slot up to its count's records, with this field zero */
    struct udax_journal_record records[UDAX_JOURNAL_MAX_RECORDS];
};
static_assert(sizeof(struct udax_journal_slot) <= UDAX_BLOCK_SIZE, "journal slot fits a block");

#endif
