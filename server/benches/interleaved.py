#!/usr/bin/env python3
"""Wall time of commands run in turn, A B A B …: on a shared VM the machine's speed drifts
over seconds, and hyperfine's one-command-after-another blocks carry that drift into the
comparison (and run each program right after itself).

    interleaved.py RUNS FILE-LIST NAME=COMMAND...

`@FILES` in a command stands for the paths listed in FILE-LIST (one per line). Prints,
per command, the median and mean wall time and the median CPU time (user + system).
"""
import os
import shlex
import statistics
import sys
import time


def main():
    runs, listing, specs = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    files = open(listing).read().split()
    commands = []
    for spec in specs:
        name, command = spec.split("=", 1)
        argv = [a for t in shlex.split(command) for a in (files if t == "@FILES" else [t])]
        commands.append((name, argv))
    null = os.open(os.devnull, os.O_WRONLY)
    wall = {name: [] for name, _ in commands}
    cpu = {name: [] for name, _ in commands}
    warmup = 5
    for i in range(warmup + runs):
        for name, argv in commands if i % 2 == 0 else commands[::-1]:
            start = time.perf_counter()
            pid = os.posix_spawnp(
                argv[0],
                argv,
                os.environ,
                file_actions=[(os.POSIX_SPAWN_DUP2, null, 1), (os.POSIX_SPAWN_DUP2, null, 2)],
            )
            _, _, usage = os.wait4(pid, 0)
            if i >= warmup:
                wall[name].append((time.perf_counter() - start) * 1000)
                cpu[name].append((usage.ru_utime + usage.ru_stime) * 1000)
    for name, _ in commands:
        w = wall[name]
        print(
            f"{name}: median {statistics.median(w):.2f} ms, mean {statistics.mean(w):.2f} ms "
            f"± {statistics.stdev(w):.2f}, CPU median {statistics.median(cpu[name]):.2f} ms "
            f"({len(w)} runs, interleaved)"
        )


main()
