"""The whole benchmark in one command, on SQLite, PostgreSQL or both.

    python bench/run.py [--db sqlite|postgres|both] [--customers 1000000] [-n 300]
                        [--skip-generate]

For each database: migrate, fill it with bench/generate.py --force (unless --skip-generate), then
run bench/latency.py; everything printed is also written to bench/results/<db>-<time>.txt.
SQLite lives in bench/var-sqlite; PostgreSQL is KEFU_DATABASE_URL, by default
postgres://postgres@127.0.0.1:5432/kefu_bench (created with createdb when missing).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/kefu_bench"


def run(command: list[str], env: dict[str, str], log: Path) -> None:
    print(f"$ {' '.join(command)}", flush=True)
    with log.open("a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            out.write(line)
        if process.wait() != 0:
            raise SystemExit(f"failed: {' '.join(command)}")


def ensure_postgres_database(url: str) -> None:
    import psycopg

    try:
        psycopg.connect(url).close()
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
        name = url.rsplit("/", 1)[-1]
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)


def machine() -> str:
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split()[1])
        memory = f", {kib / 2**20:.0f} GiB RAM"
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    return f"{os.cpu_count()} × {cpu}{memory}, Python {platform.python_version()}, {platform.platform()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("--skip-generate", action="store_true")
    args = parser.parse_args()

    python = sys.executable
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M")
    for db in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        env = dict(os.environ)
        env.pop("KEFU_DATABASE_URL", None)
        env["KEFU_DATA_DIR"] = str(BENCH / ("var-sqlite" if db == "sqlite" else "var-pg"))
        if db == "postgres":
            env["KEFU_DATABASE_URL"] = os.environ.get("KEFU_DATABASE_URL") or DEFAULT_PG
            ensure_postgres_database(env["KEFU_DATABASE_URL"])
        log = results / f"{db}-{stamp}.txt"
        log.write_text(f"machine: {machine()}\n")
        print(f"machine: {machine()}")
        run([python, "manage.py", "migrate", "--noinput", "-v", "0"], env, log)
        if not args.skip_generate:
            run([python, "bench/generate.py", "--customers", str(args.customers), "--force"], env, log)
        run([python, "bench/latency.py", "-n", str(args.n), "--slowest"], env, log)
        print(f"written to {log.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
