/* udax.c: the udax command: mkfs, info and fsck of a pool, and the entry to mount and umount. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "udax.h"
#include "mount.h"

static const char usage_text[] =
    "usage: udax COMMAND [OPTIONS] POOL\n"
    "\n"
    "Commands:\n"
    "  mkfs POOL --size SIZE [--data=strict|fast] [--inodes N]\n"
    "      Format POOL: a regular file (created when absent, resized to SIZE),\n"
    "      a file on a DAX file system, or a device-DAX node (SIZE defaults to\n"
    "      the device's). SIZE takes a K, M, G or T suffix. --data=strict (the\n"
    "      default) makes every write atomic by copy-on-write; --data=fast\n"
    "      overwrites in place. --inodes sets the inode count (default: one per\n"
    "      8 KiB).\n"
    "  info POOL\n"
    "      Print the superblock, geometry, medium, usage and counts.\n"
    "  fsck POOL [--repair]\n"
    "      Check every invariant of the pool, which must not be open. Exit codes\n"
    "      follow fsck(8): 0 clean, 1 errors corrected, 4 errors left\n"
    "      uncorrected, 8 operational error. --repair fixes names, link counts\n"
    "      and connectivity (what lost its name goes to /lost+found), and\n"
    "      salvages an inode whose log is damaged: it keeps the commits before\n"
    "      the damage, or frees the inode when not even its first commit is\n"
    "      valid. Inodes whose own log is intact keep their data.\n"
    "  mount POOL DIR [-f] [-o OPTIONS]\n"
    "      Mount POOL on DIR through FUSE (udax mount --help tells the options).\n"
    "  umount DIR\n"
    "      Unmount DIR and wait until its daemon has closed the pool.\n"
    "  help\n"
    "      Print this text.\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "udax: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n%s", usage_text);
    return 2;
}

static int parse_size(const char *text, uint64_t *size)
{
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno || end == text || text[0] == '-')
        return -1;
    unsigned shift = 0;
    switch (toupper((unsigned char)*end)) {
    case 'K': shift = 10; break;
    case 'M': shift = 20; break;
    case 'G': shift = 30; break;
    case 'T': shift = 40; break;
    case '\0': break;
    default: return -1;
    }
    if (*end && end[1] && !(toupper((unsigned char)end[1]) == 'B' && !end[2]) &&
        !(toupper((unsigned char)end[1]) == 'I' && toupper((unsigned char)end[2]) == 'B' && !end[3]))
        return -1;
    if (shift && value > (UINT64_MAX >> shift))
        return -1;
    *size = (uint64_t)value << shift;
    return 0;
}

static int cmd_mkfs(int argc, char **argv)
{
    static const struct option options[] = {
        {"size", required_argument, NULL, 's'},
        {"data", required_argument, NULL, 'd'},
        {"inodes", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    struct udax_mkfs_options opts = {0};
    uint64_t size = 0;
    int c;
    while ((c = getopt_long(argc, argv, "s:d:i:h", options, NULL)) != -1) {
        switch (c) {
        case 's':
            if (parse_size(optarg, &size) || !size)
                return usage_error("bad size '%s'", optarg);
            break;
        case 'd':
            if (!strcmp(optarg, "strict"))
                opts.data_mode = UDAX_DATA_STRICT;
            else if (!strcmp(optarg, "fast"))
                opts.data_mode = UDAX_DATA_FAST;
            else
                return usage_error("unknown data mode '%s' (strict or fast)", optarg);
            break;
        case 'i':
            if (parse_size(optarg, &opts.inode_count) || !opts.inode_count)
                return usage_error("bad inode count '%s'", optarg);
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        default:
            return usage_error("%s", "bad option for mkfs");
        }
    }
    if (optind + 1 != argc)
        return usage_error("%s", "mkfs takes one POOL");
    if (udax_pool_create(argv[optind], size, &opts)) {
        fprintf(stderr, "udax mkfs: %s\n", udax_last_error());
        return 1;
    }
    struct udax_pool *pool = udax_pool_open(argv[optind], NULL);
    struct udax_pool_info info;
    if (pool && !udax_pool_info(pool, &info))
        printf("formatted %s: %" PRIu64 " bytes, %" PRIu64 " data blocks, %" PRIu64 " inodes, data=%s\n", argv[optind],
               info.pool_size, info.data_blocks, info.inode_count, info.data_mode == UDAX_DATA_FAST ? "fast" : "strict");
    if (pool)
        udax_pool_close(pool);
    return 0;
}

static int only_pool_argument(int argc, char **argv, const char *command)
{
    if (argc == 3 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (argc != 3 || argv[2][0] == '-') {
        fprintf(stderr, "udax: %s takes one POOL\n\n%s", command, usage_text);
        return 2;
    }
    return -1;
}

static int cmd_info(int argc, char **argv)
{
    int rc = only_pool_argument(argc, argv, "info");
    if (rc >= 0)
        return rc;
    struct udax_pool *pool = udax_pool_open(argv[2], NULL);
    if (!pool) {
        fprintf(stderr, "udax info: %s\n", udax_last_error());
        return 1;
    }
    struct udax_pool_info info;
    udax_pool_info(pool, &info);
    udax_pool_close(pool);
    time_t created = (time_t)info.created_time;
    char when[64];
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime(&created));
    uint64_t used = info.data_blocks - info.free_blocks;
    printf("pool:            %s\n", argv[2]);
    printf("uuid:            %s\n", info.uuid);
    printf("format version:  %u\n", info.format_version);
    printf("created:         %s\n", when);
    printf("medium:          %s\n", info.medium);
    printf("data mode:       %s\n", info.data_mode == UDAX_DATA_FAST ? "fast (in-place overwrites)"
                                                                     : "strict (copy-on-write, atomic writes)");
    printf("size:            %" PRIu64 " bytes (%.1f MiB)\n", info.pool_size, info.pool_size / 1048576.0);
    printf("block size:      %" PRIu64 "\n", info.block_size);
    printf("blocks:          %" PRIu64 " (%" PRIu64 " for data)\n", info.block_count, info.data_blocks);
    printf("used:            %" PRIu64 " blocks (%.1f%%), %" PRIu64 " of them log pages\n", used,
           info.data_blocks ? 100.0 * (double)used / (double)info.data_blocks : 0.0, info.log_pages);
    printf("free:            %" PRIu64 " blocks (%.1f MiB)\n", info.free_blocks, info.free_blocks * 4096 / 1048576.0);
    printf("inodes:          %" PRIu64 " used of %" PRIu64 "\n", info.inodes_used, info.inode_count - 1);
    printf("files:           %" PRIu64 "\n", info.files);
    printf("directories:     %" PRIu64 "\n", info.directories);
    printf("journal slots:   %" PRIu64 "\n", info.journal_slots);
    return 0;
}

static void print_problem(void *arg, const char *problem)
{
    (void)arg;
    printf("  %s\n", problem);
}

static int cmd_fsck(int argc, char **argv)
{
    struct udax_fsck_options opts = {.report = print_problem};
    const char *path = NULL;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--repair") || !strcmp(argv[i], "-y"))
            opts.repair = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_text, stdout);
            return 0;
        } else if (argv[i][0] == '-' || path)
            return usage_error("unexpected argument '%s' for fsck", argv[i]);
        else
            path = argv[i];
    }
    if (!path)
        return usage_error("%s", "fsck takes one POOL");
    struct udax_fsck_result result;
    int status = udax_fsck(path, &opts, &result);
    if (status == UDAX_FSCK_FAILED) {
        fprintf(stderr, "udax fsck: %s\n", udax_last_error());
        return status;
    }
    printf("%s: %" PRIu64 " inodes, %" PRIu64 " blocks checked; %" PRIu64 " problems, %" PRIu64 " repaired: %s\n",
           path, result.inodes_checked, result.blocks_checked, result.problems, result.repaired,
           status == UDAX_FSCK_CLEAN ? "clean" : status == UDAX_FSCK_CORRECTED ? "corrected" : "errors left");
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("%s", "no command");
    const char *command = argv[1];
    if (!strcmp(command, "help") || !strcmp(command, "--help") || !strcmp(command, "-h")) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (!strcmp(command, "mkfs"))
        return cmd_mkfs(argc - 1, argv + 1);
    if (!strcmp(command, "info"))
        return cmd_info(argc, argv);
    if (!strcmp(command, "mount"))
        return mount_command(argc - 1, argv + 1);
    if (!strcmp(command, "umount"))
        return umount_command(argc - 1, argv + 1);
    if (!strcmp(command, "fsck"))
        return cmd_fsck(argc, argv);
    return usage_error("unknown command '%s'", command);
}
