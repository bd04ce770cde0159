#!/usr/bin/env bash
# test_programs.sh: real programs on a udax mount: a parallel build, sqlite3, git, tar, cp -a and diff -r.
# usage: test_programs.sh SOURCE_ROOT MOUNT_DIR (run through with_mount.sh, which adds MOUNT_DIR).
set -u
source_root=$1
dir=$2
scratch=$(mktemp -d /dev/shm/udax-programs.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
failures=0

step() {
    local name=$1
    shift
    if "$@" >"$scratch/out" 2>&1; then
        echo "ok   $name"
    else
        echo "FAIL $name:"
        tail -n 30 "$scratch/out" | sed 's/^/    /'
        failures=$((failures + 1))
    fi
}

# The project's own sources, the same set whether or not the tree is a git clone.
copy_sources() {
    mkdir -p "$1" &&
        (cd "$source_root" && tar -cf - meson.build meson_options.txt include src cli fuse examples bench tests) |
        tar -C "$1" -xf -
}

build_project() {
    copy_sources "$dir/project" &&
        meson setup "$dir/project/build" "$dir/project" >/dev/null &&
        ninja -j2 -C "$dir/project/build" &&
        "$dir/project/build/udax" help | grep -q 'udax mount'
}

sqlite_database() {
    local db=$dir/sqlite/test.db
    mkdir -p "$dir/sqlite" || return 1
    {
        echo "CREATE TABLE rows(id INTEGER PRIMARY KEY, name TEXT, payload BLOB);"
        echo "CREATE INDEX rows_name ON rows(name);"
        for batch in $(seq 0 99); do
            echo "BEGIN;"
            echo "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)"
            echo "  INSERT INTO rows(id, name, payload) SELECT $batch * 1000 + i, 'name-' || ($batch * 1000 + i), randomblob(64) FROM n;"
            echo "COMMIT;"
        done
    } | sqlite3 "$db" || return 1
    # Write-ahead logging maps its index file shared and writable: the kernel's page cache over FUSE.
    local result
    result=$(sqlite3 "$db" "PRAGMA journal_mode=WAL; BEGIN; UPDATE rows SET name = name || '+' WHERE id % 7 = 0; COMMIT;
        PRAGMA integrity_check; SELECT count(*), sum(id), count(*) FILTER (WHERE name LIKE '%+') FROM rows;") || return 1
    echo "$result"
    [ "$result" = "$(printf 'wal\nok\n100000|5000050000|14285')" ]
}

git_repository() {
    local repo=$dir/repo
    copy_sources "$repo" &&
        git -C "$repo" init -q &&
        git -C "$repo" -c user.name=udax -c user.email=udax@example.com add -A &&
        git -C "$repo" -c user.name=udax -c user.email=udax@example.com commit -q -m "first" &&
        echo change >>"$repo/meson.build" &&
        git -C "$repo" -c user.name=udax -c user.email=udax@example.com commit -q -am "second" &&
        [ "$(git -C "$repo" log --oneline | wc -l)" -eq 2 ] &&
        git -C "$repo" gc -q &&
        git -C "$repo" fsck --full --strict &&
        [ -z "$(git -C "$repo" status --porcelain)" ]
}

tar_round_trip() {
    (cd "$source_root" && tar -cf "$scratch/sources.tar" meson.build include src cli fuse) &&
        mkdir "$dir/tar" &&
        tar -C "$dir/tar" -xf "$scratch/sources.tar" &&
        tar -C "$dir/tar" -df "$scratch/sources.tar"
}

# A tree with what cp -a must carry: hard links, symlinks (relative, absolute, dangling), modes, times, xattrs.
make_tree() {
    local tree=$1
    mkdir -p "$tree/sub/deeper" "$tree/empty" &&
        head -c 300000 /dev/urandom >"$tree/big" &&
        echo hello >"$tree/sub/small" &&
        ln "$tree/sub/small" "$tree/hardlink" &&
        ln "$tree/sub/small" "$tree/sub/deeper/third-link" &&
        ln -s sub/small "$tree/relative-symlink" &&
        ln -s /nonexistent/target "$tree/dangling-symlink" &&
        ln -s "$tree/big" "$tree/absolute-symlink" &&
        mkfifo "$tree/fifo" &&
        chmod 0751 "$tree/sub" && chmod 0600 "$tree/big" && chmod 4755 "$tree/sub/deeper" &&
        touch -d '2001-02-03 04:05:06.123456789' "$tree/big" &&
        setfattr -n user.tag -v value "$tree/big" 2>/dev/null
    return 0
}

# Every inode's type, mode, owner, link count, symlink target and size (a directory's is the file system's own), by path; and apart, the mtimes to the nanosecond.
describe_tree() {
    (cd "$1" && find . -printf '%p %y %m %U %G %n %l\n' | sort && find . ! -type d -printf '%p %s\n' | sort)
}

describe_with_times() {
    (cd "$1" && find . ! -type l -printf '%p %T@\n' | sort)
}

copy_tree() {
    make_tree "$scratch/tree" &&
        cp -a "$scratch/tree" "$dir/tree" &&
        diff -r --no-dereference -x fifo "$scratch/tree" "$dir/tree" &&
        diff <(describe_tree "$scratch/tree") <(describe_tree "$dir/tree") &&
        diff <(describe_with_times "$scratch/tree") <(describe_with_times "$dir/tree") &&
        [ "$(stat -c %i "$dir/tree/hardlink")" = "$(stat -c %i "$dir/tree/sub/deeper/third-link")" ] &&
        [ "$(stat -c %h "$dir/tree/hardlink")" -eq 3 ] &&
        { ! command -v getfattr >/dev/null || [ "$(getfattr --only-values -n user.tag "$dir/tree/big")" = value ]; } &&
        cp -a "$dir/tree" "$scratch/back" &&
        diff -r --no-dereference -x fifo "$scratch/tree" "$scratch/back" &&
        diff <(describe_with_times "$scratch/tree") <(describe_with_times "$scratch/back")
}

step "make -j2: a parallel build of udax on the mount" build_project
step "sqlite3: 100,000 rows in transactions, WAL, integrity_check" sqlite_database
step "git: init, add, commit, log, gc, fsck" git_repository
step "tar: extract and compare" tar_round_trip
step "cp -a and diff -r: hard links, symlinks, modes, times" copy_tree

echo "$failures failed"
[ "$failures" -eq 0 ]
