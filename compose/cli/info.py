"""top, port, images, volumes, ls, events, stats: read-only views of a project, from engine labels."""
from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone

from compose import convert as cv
from compose.backend import open_backend, open_engine, short_name
from compose.errors import UsageError

HELP = "Inspect a project's containers"


def add_arguments(parser, command) -> None:
    if command == "port":
        parser.add_argument("--index", type=int, default=1)
        parser.add_argument("--protocol", default="tcp", choices=["tcp", "udp"])
        parser.add_argument("service", metavar="SERVICE")
        parser.add_argument("private_port", metavar="PRIVATE_PORT")
        return
    if command == "ls":
        parser.add_argument("-a", "--all", action="store_true", help="Show all stopped Compose projects")
        parser.add_argument("-q", "--quiet", action="store_true", help="Only display project names")
        parser.add_argument("--format", default="table", help="table or json")
        parser.add_argument("--filter", action="append", default=[], help="name=<project>")
        return
    parser.add_argument("services", nargs="*", metavar="SERVICE")
    if command in ("images", "volumes"):
        parser.add_argument("-q", "--quiet", action="store_true")
        parser.add_argument("--format", default="table", help="table or json")
    if command == "images":
        parser.add_argument("--digests", action="store_true", help="Show the registry digests (RepoDigests)")
    if command == "events":
        parser.add_argument("--json", action="store_true", help="Output events as a stream of json objects")
        parser.add_argument("--since")
        parser.add_argument("--until")
    if command == "stats":
        parser.add_argument("-a", "--all", action="store_true")
        parser.add_argument("--no-stream", action="store_true")
        parser.add_argument("--no-trunc", action="store_true")
        parser.add_argument("--format", default="table")


def run(args, gopts) -> int:
    return {"top": top, "port": port, "images": images, "volumes": volumes, "ls": ls, "events": events,
            "stats": stats}[args.command](args, gopts)


def table(heads: list[str], rows: list[list[str]], gap: str = "   ") -> None:
    widths = [max([len(h)] + [len(str(r[i])) for r in rows]) for i, h in enumerate(heads)]
    print(gap.join(h.ljust(w) for h, w in zip(heads, widths)).rstrip())
    for r in rows:
        print(gap.join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip())


def _human_size(n: float, base: int, units: tuple[str, ...], digits: int) -> str:
    for unit in units:
        if n < base or unit == units[-1]:
            return f"{n:.{digits}g}{unit}" if unit != "B" else f"{int(n)}B"
        n /= base
    return f"{n}B"


def size_text(n: float) -> str:
    """Docker's decimal sizes: 1.24MB, 512kB, 0B."""
    return _human_size(n, 1000, ("B", "kB", "MB", "GB", "TB"), 3)


def binary_size(n: float) -> str:
    """Docker's binary sizes (stats' memory): 1.5MiB."""
    return _human_size(n, 1024, ("B", "KiB", "MiB", "GiB", "TiB"), 4)


def top(args, gopts) -> int:
    b = open_backend(gopts, need_project=False, labels_only=True)
    first = True
    for c in b.pick(args.services, ["running", "paused"]):
        t = b.engine.containers.top(c["Id"])
        if not first:
            print()
        first = False
        print(short_name(c))
        table(t.get("Titles") or [], t.get("Processes") or [])
    return 0


def port(args, gopts) -> int:
    b = open_backend(gopts, need_project=False, labels_only=True)
    c = b.container_of(args.service, args.index)
    info = b.engine.containers.inspect(c["Id"])
    key = f"{args.private_port}/{args.protocol}" if "/" not in args.private_port else args.private_port
    binds = ((info.get("NetworkSettings") or {}).get("Ports") or {}).get(key) or []
    if not binds:
        raise UsageError(f"no port {key} for container {short_name(c)}")
    b0 = binds[0]
    print(f"{b0.get('HostIp') or '0.0.0.0'}:{b0.get('HostPort')}")
    return 0


def images(args, gopts) -> int:
    b = open_backend(gopts, need_project=False, labels_only=True)
    rows, seen = [], []
    cache: dict[str, dict] = {}
    for c in b.pick(args.services, None):
        ref = c.get("Image", "")
        if ref not in cache:
            try:
                cache[ref] = b.engine.images.inspect(ref)
            except Exception:  # noqa: BLE001 - image removed under a container
                cache[ref] = {}
        img = cache[ref]
        repo, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "latest")
        iid = (img.get("Id") or "").removeprefix("sha256:")[:12]
        seen.append(img.get("Id") or "")
        digest = next((d.split("@", 1)[1] for d in img.get("RepoDigests") or []
                       if d.split("@", 1)[0] == repo or d.split("@", 1)[0].endswith("/" + repo)), "<none>")
        rows.append({"ContainerName": short_name(c), "Repository": repo, "Tag": tag, "ID": iid,
                     "Size": img.get("Size", 0), "Created": img.get("Created", ""), "Digest": digest})
    if args.quiet:
        for i in dict.fromkeys(seen):
            print(i)
        return 0
    if args.format == "json":
        if not getattr(args, "digests", False):
            rows = [{k: v for k, v in r.items() if k != "Digest"} for r in rows]
        print(json.dumps(rows))
        return 0
    extra = ["DIGEST"] if args.digests else []
    table(["CONTAINER", "REPOSITORY", "TAG", *extra, "IMAGE ID", "SIZE"],
          [[r["ContainerName"], r["Repository"], r["Tag"], *([r["Digest"]] if extra else []), r["ID"],
            size_text(r["Size"] or 0)] for r in rows])
    return 0


def volumes(args, gopts) -> int:
    b = open_backend(gopts, need_project=False)
    vols = [v for v in b.engine.volumes.list({"label": [f"{cv.PROJECT}={b.name}"]})
            if (v.get("Labels") or {}).get(cv.PROJECT) == b.name]
    if args.services and b.project:
        used = {m.get("source") for s in args.services for m in b.project.services.get(s, {}).get("volumes") or []
                if m.get("type") == "volume"}
        vols = [v for v in vols if (v.get("Labels") or {}).get(cv.VOLUME) in used]
    if args.quiet:
        for v in vols:
            print(v["Name"])
        return 0
    if args.format == "json":
        for v in vols:
            print(json.dumps({"Driver": v.get("Driver", "local"), "Labels": v.get("Labels"), "Name": v["Name"],
                              "Mountpoint": v.get("Mountpoint", ""), "Scope": v.get("Scope", "local")}))
        return 0
    table(["DRIVER", "VOLUME NAME"], [[v.get("Driver", "local"), v["Name"]] for v in vols], gap="    ")
    return 0


def ls(args, gopts) -> int:
    """Projects from container labels: NAME, STATUS like ``running(2), exited(1)``, CONFIG FILES."""
    engine = open_engine()
    names = None
    for f in args.filter:
        k, _, v = f.partition("=")
        if k != "name":
            raise UsageError(f"invalid filter {f!r}: only name=<project>")
        names = (names or set()) | {v}
    projects: dict[str, dict] = {}
    for c in engine.containers.list(all=True, filters={"label": [cv.PROJECT]}):
        lb = c.get("Labels") or {}
        p = lb.get(cv.PROJECT)
        if not p or (names and p not in names):
            continue
        e = projects.setdefault(p, {"states": {}, "files": lb.get(cv.CONFIG_FILES, "")})
        e["states"][c.get("State", "")] = e["states"].get(c.get("State", ""), 0) + 1
    rows = []
    for p in sorted(projects):
        st = projects[p]["states"]
        if not args.all and not st.get("running"):
            continue
        status = ", ".join(f"{k}({v})" for k, v in sorted(st.items()))
        rows.append({"Name": p, "Status": status, "ConfigFiles": projects[p]["files"]})
    if args.quiet:
        for r in rows:
            print(r["Name"])
    elif args.format == "json":
        print(json.dumps(rows))
    else:
        table(["NAME", "STATUS", "CONFIG FILES"], [[r["Name"], r["Status"], r["ConfigFiles"]] for r in rows])
    return 0


def events(args, gopts) -> int:
    b = open_backend(gopts, need_project=False, labels_only=True)
    wanted = set(args.services)
    b.check_services(wanted)
    flt = {"label": [f"{cv.PROJECT}={b.name}"], "type": ["container"]}
    try:
        for ev in b.engine.events(filters=flt, since=args.since, until=args.until):
            actor = ev.get("Actor") or {}
            attrs = dict(actor.get("Attributes") or {})
            svc = attrs.get(cv.SERVICE, "")
            if wanted and svc not in wanted:
                continue
            when = ev.get("timeNano") and ev["timeNano"] / 1e9 or ev.get("time") or time.time()
            ts = datetime.fromtimestamp(when, timezone.utc)
            if args.json:
                print(json.dumps({"time": ts.isoformat().replace("+00:00", "Z"), "type": ev.get("Type", "container"),
                                  "action": ev.get("Action", ""), "id": actor.get("ID", ""), "service": svc,
                                  "attributes": {k: v for k, v in attrs.items() if not k.startswith("com.docker.compose")}}),
                      flush=True)
            else:
                attr = ", ".join(f"{k}={v}" for k, v in sorted(attrs.items()) if not k.startswith("com.docker.compose"))
                print(f"{ts.strftime('%Y-%m-%d %H:%M:%S.%f')} {ev.get('Type', 'container')} {ev.get('Action', '')} "
                      f"{actor.get('ID', '')} ({attr})", flush=True)
    except KeyboardInterrupt:
        return 0
    return 0


def _cpu_percent(s: dict) -> float:
    cpu, pre = s.get("cpu_stats") or {}, s.get("precpu_stats") or {}
    d_cpu = (cpu.get("cpu_usage") or {}).get("total_usage", 0) - (pre.get("cpu_usage") or {}).get("total_usage", 0)
    d_sys = cpu.get("system_cpu_usage", 0) - pre.get("system_cpu_usage", 0)
    ncpu = cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or []) or 1
    return (d_cpu / d_sys) * ncpu * 100.0 if d_sys > 0 and d_cpu > 0 else 0.0


def stats_row(name: str, s: dict) -> list[str]:
    mem = s.get("memory_stats") or {}
    usage = mem.get("usage", 0) - ((mem.get("stats") or {}).get("cache", 0) or 0)
    limit = mem.get("limit", 0) or 0
    nets = s.get("networks") or {}
    rx = sum(n.get("rx_bytes", 0) for n in nets.values())
    tx = sum(n.get("tx_bytes", 0) for n in nets.values())
    blk = (s.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []
    rd = sum(e.get("value", 0) for e in blk if (e.get("op") or "").lower() == "read")
    wr = sum(e.get("value", 0) for e in blk if (e.get("op") or "").lower() == "write")
    return [s.get("id", "")[:12], name, f"{_cpu_percent(s):.2f}%", f"{binary_size(usage)} / {binary_size(limit)}",
            f"{(usage / limit * 100 if limit else 0):.2f}%", f"{size_text(rx)} / {size_text(tx)}",
            f"{size_text(rd)} / {size_text(wr)}", str((s.get("pids_stats") or {}).get("current", 0))]


def stats(args, gopts) -> int:
    """A live table, refreshed every second (``--no-stream``: one sample)."""
    b = open_backend(gopts, need_project=False, labels_only=True)
    heads = ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"]
    live = sys.stdout.isatty() and not args.no_stream
    prev: dict[str, dict] = {}

    def sample(cs: list[dict]) -> list[list[str]]:
        rows = []
        for c in cs:
            try:
                s = dict(b.engine.containers.stats(c["Id"], previous=prev.get(c["Id"])))
            except Exception:  # noqa: BLE001 - stopped or removed meanwhile
                continue
            prev[c["Id"]] = s
            s.setdefault("id", c["Id"])
            rows.append(stats_row(short_name(c), s))
        return rows

    try:
        first = True
        while True:
            cs = b.pick(args.services, None if args.all else ["running", "paused"])
            if first:
                sample(cs)          # CPU % needs two samples: the first one is the baseline
                time.sleep(0.5)
                first = False
            rows = sample(cs)
            if args.format == "json":
                for r in rows:
                    print(json.dumps(dict(zip(["ID", "Name", "CPUPerc", "MemUsage", "MemPerc", "NetIO", "BlockIO",
                                                "PIDs"], r))), flush=True)
            else:
                if live:
                    sys.stdout.write("\x1b[2J\x1b[H")
                table(heads, rows)
                sys.stdout.flush()
            if args.no_stream:
                return 0
            time.sleep(1)
    except KeyboardInterrupt:
        return 0
