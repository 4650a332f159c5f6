#!/usr/bin/env python3
"""Runs one command and prints what it cost, as one JSON line on stderr:
wall seconds, CPU seconds (user + system, the command and its children),
and the peak private (RssAnon) and file-backed (RssFile, e.g. a mmapped
pack) resident memory in MiB, sampled from /proc/PID/status every 20 ms.
Private memory is what the issue's 256 MiB bound is about; file-backed
pages are the kernel's page cache mapped in and can be dropped at will.

    scripts/bench/measure.py [--label NAME] -- COMMAND ARGS...

The command's stdout goes to /dev/null unless --stdout FILE is given.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time


def status_kib(pid):
    fields = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("RssAnon", "RssFile", "RssShmem"):
                    fields[key] = int(value.split()[0])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return fields


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--label", default="")
    parser.add_argument("--stdout", default=os.devnull)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    with open(args.stdout, "wb") as out:
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL)
        peak_anon = peak_file = 0
        while child.poll() is None:
            fields = status_kib(child.pid)
            peak_anon = max(peak_anon, fields.get("RssAnon", 0))
            peak_file = max(peak_file, fields.get("RssFile", 0))
            time.sleep(0.02)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(json.dumps({
        "label": args.label,
        "exit": child.returncode,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "rss_anon_mib": round(peak_anon / 1024, 1),
        "rss_file_mib": round(peak_file / 1024, 1),
        "max_rss_mib": round(after.ru_maxrss / 1024, 1),
    }), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
