#!/usr/bin/env python3
"""Benchmark dossier (and Hugo, side by side) on generated dossiers.

    python3 bench/run.py                      # N = 1000 and 10000, output on tmpfs
    python3 bench/run.py --sizes 1000,10000,100000 --disk
    python3 bench/run.py --hugo /path/to/hugo # compare with Hugo on the same articles

For each N it generates a dossier with ../shared/bench/gen_corpus.py (cached
in --work), then measures with GNU time:
  - a full build into an empty output, without the article cache
    (--repeat times, median shown; --repeat-large times at 100,000): wall,
    CPU (user+sys), peak memory, files written, and the time of each stage
    (dossier build --timings);
  - a rebuild with nothing changed (it reads the records the full build
    left in ROOT/.dossier-cache/);
  - `dossier build` after one new article (a copy of another, under a new name);
  - `dossier serve` rebuilding after one new article, as it reports it:
    the site kept in memory (serve's default), and written to the output
    folder (--render-to-disk);
  - with --hugo, `hugo --quiet` on the same articles (gen_corpus --formats hugo),
    for the ratio (also --repeat times, median).
Both tools start with their articles read once into the page cache.
Output goes to /dev/shm unless --disk (this machine's disk makes file creation
times swing by half between runs; both are worth knowing). Prints a Markdown
table; --json FILE keeps the raw figures.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GEN = os.path.join(ROOT, "..", "shared", "bench", "gen_corpus.py")
DOSSIER = os.path.join(ROOT, "target", "release", "dossier")


def timed(cmd, cwd=None):
    """Runs cmd under GNU time; returns (wall s, cpu s, peak MiB, stdout)."""
    start = time.monotonic()
    proc = subprocess.run(["/usr/bin/time", "-v"] + cmd, cwd=cwd, capture_output=True, text=True)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    def field(name):
        m = re.search(rf"{re.escape(name)}: ([0-9.:]+)", proc.stderr)
        return m.group(1) if m else "0"
    cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
    peak = int(field("Maximum resident set size (kbytes)")) / 1024
    return wall, cpu, peak, proc.stdout


def stages(stdout):
    out = {}
    for m in re.finditer(r"^\s+(load|normalize|annotate|index|render|write)\s+([0-9.]+) ms", stdout, re.M):
        out[m.group(1)] = float(m.group(2)) / 1000
    files = re.search(r"(\d+) files \((\d+) written, (\d+) unchanged\)", stdout)
    if files:
        out["files"], out["written"], out["unchanged"] = (int(x) for x in files.groups())
    return out


def generate(n, work, hugo):
    target = os.path.join(work, f"c{n}")
    formats = "dossier,hugo" if hugo else "dossier"
    marker = os.path.join(target, f".done-{formats}")
    if not os.path.exists(marker):
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run([sys.executable, GEN, str(n), target, "--formats", formats], check=True,
                       stdout=subprocess.DEVNULL)
        open(marker, "w").close()
    return target


def warm(path):
    """Reads every file below path once, so that each tool starts with the
    articles in the page cache (a cold read of 100,000 files costs seconds
    and would fall on whichever tool runs first)."""
    for folder, _, files in os.walk(path):
        for name in files:
            with open(os.path.join(folder, name), "rb") as f:
                while f.read(1 << 20):
                    pass


def bench(n, args):
    corpus = generate(n, args.work, args.hugo)
    warm(corpus)
    root = os.path.join(corpus, "dossier")
    out_parent = "/dev/shm/dossier-bench" if not args.disk else os.path.join(args.work, "out")
    output = os.path.join(out_parent, f"site{n}")
    build = [DOSSIER, "--root", root, "build", "--output", output, "--timings"]

    row = {"n": n}
    # Full builds into an empty output; the median run by wall time is kept.
    runs = []
    for _ in range(args.repeat if n < 100_000 else args.repeat_large):
        shutil.rmtree(out_parent, ignore_errors=True)
        # A clean build: without the article cache an earlier build left.
        shutil.rmtree(os.path.join(root, ".dossier-cache"), ignore_errors=True)
        os.makedirs(out_parent)
        runs.append(timed(build))
    runs.sort(key=lambda r: r[0])
    wall, cpu, peak, stdout = runs[len(runs) // 2]
    row.update(full_wall=wall, full_cpu=cpu, full_peak=max(r[2] for r in runs), full=stages(stdout),
               full_walls=[r[0] for r in runs])
    wall, cpu, peak, stdout = timed(build)
    row.update(noop_wall=wall, noop=stages(stdout))
    articles = os.path.join(root, "content", "articles")
    first = sorted(f for f in os.listdir(articles) if not f.endswith(".toml"))[0]
    new = os.path.join(articles, "zzzz-bench-new-article" + os.path.splitext(first)[1])
    shutil.copy(os.path.join(articles, first), new)
    try:
        wall, cpu, peak, stdout = timed(build)
        row.update(add_wall=wall, add=stages(stdout))
    finally:
        os.remove(new)
    timed(build)  # back to the corpus as generated
    row.update(serve_add=serve_add(root, None, first),
               serve_disk_add=serve_add(root, output, first))

    if args.hugo:
        hugo_dir = os.path.join(corpus, "hugo")
        hugo_out = os.path.join(out_parent, f"hugo{n}")
        warm(hugo_dir)
        runs = []
        for _ in range(args.repeat if n < 100_000 else args.repeat_large):
            shutil.rmtree(hugo_out, ignore_errors=True)
            runs.append(timed([args.hugo, "--quiet", "--destination", hugo_out], cwd=hugo_dir))
        runs.sort(key=lambda r: r[0])
        wall, cpu, peak, _ = runs[len(runs) // 2]
        row.update(hugo_wall=wall, hugo_cpu=cpu, hugo_peak=max(r[2] for r in runs),
                   hugo_walls=[r[0] for r in runs])
    shutil.rmtree(out_parent, ignore_errors=True)
    return row


def serve_add(root, output, first):
    """Seconds `dossier serve` takes to rebuild after one new article: the
    time it reports itself (from the watcher's event to the new site
    published), for the second and third of three articles added one after
    the other (the first rebuild after start-up also fills the spare output
    generation). The site in memory, as `serve` keeps it by default, or with
    `output`, written there (`--render-to-disk`)."""
    disk = ["--render-to-disk", "--output", output] if output else []
    proc = subprocess.Popen([DOSSIER, "--root", root, "serve", "--port", "0"] + disk,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    articles = os.path.join(root, "content", "articles")
    added, times = [], []
    try:
        def rebuilt():
            for line in proc.stdout:
                m = re.match(r"rebuilt .* in ([0-9.]+)(m?s)$", line.strip())
                if m:
                    return float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)
            sys.exit("dossier serve stopped")
        rebuilt()
        for i in range(3):
            new = os.path.join(articles, f"zzzz-serve-new-{i}" + os.path.splitext(first)[1])
            shutil.copy(os.path.join(articles, first), new)
            added.append(new)
            times.append(rebuilt())
    finally:
        proc.terminate()
        proc.wait()
        for path in added:
            os.remove(path)
    return min(times[1:])


def table(rows, args):
    where = "disk" if args.disk else "tmpfs"
    lines = [f"Output on {where}. Times in seconds, memory in MiB.", "",
             "| articles | full build | CPU | peak MiB | files | load | normalize | annotate | index | render | write | no-op rebuild | +1 article | +1 / full | +1 in serve | serve / full | +1 in serve, to disk |"
             + (" Hugo wall | Hugo CPU | Hugo MiB | dossier / Hugo |" if args.hugo else ""),
             "|---:" * (17 + (4 if args.hugo else 0)) + "|"]
    for r in rows:
        f = r["full"]
        cells = [f"{r['n']:,}", f"{r['full_wall']:.2f}", f"{r['full_cpu']:.2f}", f"{r['full_peak']:.0f}",
                 f"{f.get('files', 0):,}"] + [f"{f.get(s, 0):.2f}" for s in
                 ("load", "normalize", "annotate", "index", "render", "write")] + [
                 f"{r['noop_wall']:.2f}", f"{r['add_wall']:.2f}", f"{100 * r['add_wall'] / r['full_wall']:.0f} %",
                 f"{r['serve_add']:.2f}", f"{100 * r['serve_add'] / r['full_wall']:.1f} %",
                 f"{r['serve_disk_add']:.2f}"]
        if args.hugo:
            cells += [f"{r['hugo_wall']:.2f}", f"{r['hugo_cpu']:.2f}", f"{r['hugo_peak']:.0f}",
                      f"{r['full_wall'] / r['hugo_wall']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="1000,10000")
    p.add_argument("--work", default="/tmp/dossier-bench")
    p.add_argument("--disk", action="store_true", help="output on disk instead of /dev/shm")
    p.add_argument("--hugo", help="path of a hugo binary to compare with")
    p.add_argument("--json", help="also write the raw figures here")
    p.add_argument("--repeat", type=int, default=3,
                   help="full builds per size below 100,000 (the median is shown)")
    p.add_argument("--repeat-large", type=int, default=1,
                   help="full builds at 100,000 and more (each takes about a minute with Hugo's)")
    args = p.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    os.makedirs(args.work, exist_ok=True)
    rows = [bench(int(n), args) for n in args.sizes.split(",")]
    print(table(rows, args))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
