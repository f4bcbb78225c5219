#!/usr/bin/env python3
"""omfs_fsx.py - random file operations checked against a model of the file, in the spirit of fsx.

Usage: omfs_fsx.py FILE [--ops N] [--seed S] [--max-size BYTES] [--server-copy PATH]

Runs N operations on FILE (created or truncated), each chosen at random: pwrite and pread at
random offsets and lengths, writes and reads through a shared mapping, ftruncate up and down,
writes through a second descriptor of the same file, copy_file_range from one part of the file
to another, fsync, posix_fallocate, and close and
reopen of both descriptors (close-to-open). Every read is compared with the model, a bytearray
that every write also goes to. After each reopen and at the end the whole file is read back
through a fresh descriptor; with --server-copy, the same file seen from the node that serves
it (its export, read directly) must match too once the descriptors are closed.

Output: one line, "fsx: N ops, seed S, final size B: ok", exit 0; on the first mismatch the
last 40 operations, the first differing offset and both values, exit 1.
"""
import argparse
import mmap
import os
import random
import sys

PAGE = mmap.PAGESIZE


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--ops", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--max-size", type=int, default=2 * 1024 * 1024)
    ap.add_argument("--server-copy", default=None)
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "little")
    rnd = random.Random(seed)
    maxsz = a.max_size
    model = bytearray()
    log = []
    fd = os.open(a.file, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    fd2 = os.open(a.file, os.O_RDWR)

    def die(msg):
        for line in log[-40:]:
            print("  " + line, file=sys.stderr)
        print(f"fsx: seed {seed}: {msg}", file=sys.stderr)
        sys.exit(1)

    def fail(what, got, want, off):
        i = next((k for k in range(min(len(got), len(want))) if got[k] != want[k]),
                 min(len(got), len(want)))
        die(f"{what}: first difference at +{i} (file offset {off + i}): "
            f"got {bytes(got[i:i + 8])!r} want {bytes(want[i:i + 8])!r}, "
            f"lengths got {len(got)} want {len(want)}")

    def check_all(what):
        with open(a.file, "rb") as f:
            got = f.read()
        if got != model:
            fail(what, got, model, 0)

    def rand_range(limit):
        """an offset and a length, biased to page edges and small sizes"""
        off = rnd.randrange(max(limit, 1))
        if rnd.random() < 0.3:
            off -= off % PAGE
        ln = rnd.choice([1, 7, 100, 4096, 4097, 10240, 65536, 200000])
        ln = max(1, min(ln if rnd.random() < 0.5 else rnd.randrange(1, ln + 1), maxsz - off))
        return off, ln

    def pattern(n, op):
        b = bytes((op * 31 + k * 7 + (k >> 8)) & 0xFF for k in range(min(n, 4096)))
        return (b * (n // len(b) + 1))[:n] if n else b""

    def model_write(off, data):
        if off > len(model):
            model.extend(b"\0" * (off - len(model)))
        model[off:off + len(data)] = data

    for op in range(a.ops):
        kind = rnd.choices(
            ["write", "write2", "read", "mapwrite", "mapread", "truncate", "fsync", "falloc",
             "copy", "reopen"],
            [30, 10, 25, 8, 8, 8, 3, 3, 4, 2])[0]
        size = len(model)
        if kind in ("write", "write2"):
            off, ln = rand_range(min(maxsz - 1, size + 65536))
            data = pattern(ln, op)
            n = os.pwrite(fd if kind == "write" else fd2, data, off)
            if n != ln:
                die(f"op {op}: short write {n} of {ln} at {off}")
            model_write(off, data)
            log.append(f"{op} {kind} {off} +{ln}")
        elif kind == "read":
            if size == 0:
                continue
            off, ln = rand_range(size + 100)
            got = os.pread(fd if op % 2 else fd2, ln, off)
            log.append(f"{op} read {off} +{ln}")
            if got != model[off:off + ln]:
                fail(f"op {op} read", got, model[off:off + ln], off)
        elif kind in ("mapwrite", "mapread"):
            if size == 0:
                continue
            off, ln = rand_range(size)
            ln = min(ln, size - off)
            base = off - off % PAGE
            with mmap.mmap(fd, off + ln - base, offset=base) as m:
                if kind == "mapwrite":
                    data = pattern(ln, op)
                    m[off - base:off - base + ln] = data
                    if rnd.random() < 0.5:
                        m.flush()
                    model_write(off, data)
                else:
                    got = m[off - base:off - base + ln]
                    if got != model[off:off + ln]:
                        log.append(f"{op} mapread {off} +{ln}")
                        fail(f"op {op} mapread", got, model[off:off + ln], off)
            log.append(f"{op} {kind} {off} +{ln}")
        elif kind == "truncate":
            nsz = rnd.choice([0, rnd.randrange(maxsz), size // 2, size + 4097])
            nsz = min(nsz, maxsz)
            os.ftruncate(fd2 if op % 2 else fd, nsz)
            if nsz < size:
                del model[nsz:]
            else:
                model.extend(b"\0" * (nsz - size))
            log.append(f"{op} truncate {size} -> {nsz}")
        elif kind == "fsync":
            os.fsync(fd)
            log.append(f"{op} fsync")
        elif kind == "falloc":
            off, ln = rand_range(min(maxsz - 1, size + 65536))
            os.posix_fallocate(fd, off, ln)
            if off + ln > size:
                model.extend(b"\0" * (off + ln - size))
            log.append(f"{op} fallocate {off} +{ln}")
        elif kind == "copy":
            if size == 0:
                continue
            src, ln = rand_range(size)
            ln = min(ln, size - src)
            dst = rnd.randrange(min(maxsz - ln, size + 65536))
            if dst < src + ln and src < dst + ln:
                continue  # overlapping ranges of one file: EINVAL, as fsx avoids them
            n = os.copy_file_range(fd, fd2, ln, src, dst)
            if n != ln:
                die(f"op {op}: copy_file_range copied {n} of {ln}")
            model_write(dst, bytes(model[src:src + ln]))
            log.append(f"{op} copy {src} +{ln} -> {dst}")
        elif kind == "reopen":
            os.close(fd)
            os.close(fd2)
            log.append(f"{op} reopen")
            check_all(f"op {op} after reopen")
            fd = os.open(a.file, os.O_RDWR)
            fd2 = os.open(a.file, os.O_RDWR)
        st = os.fstat(fd)
        if st.st_size != len(model):
            die(f"op {op}: st_size {st.st_size}, want {len(model)}")
    os.close(fd)
    os.close(fd2)
    check_all("at the end")
    if a.server_copy:
        with open(a.server_copy, "rb") as f:
            got = f.read()
        if got != model:
            fail("the server's copy", got, model, 0)
    print(f"fsx: {a.ops} ops, seed {seed}, final size {len(model)}: ok")


if __name__ == "__main__":
    main()
