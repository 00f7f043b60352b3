#!/usr/bin/env python3
"""Summary of bench/run scale: scale_report.py FAISS_JSON MILVUS_JSON|"" RERANK_JSON|"" LOAD_BEFORE LOAD_AFTER.

Flattens scale_bench's stages into rows (one per engine/index/setting/n), picks per compressed
index the fastest setting with recall@10 >= 0.95, checks the goals at the largest n, fits
latency and memory against n (least squares over the measured stages) to project 10M, merges a
Milvus column when one was run, prints a table and, last, one JSON object.

Row schema (a Milvus bench emits the same, with "engine": "milvus"):
  {"engine", "index", "n", "setting": {...}, "build_s", "train_s", "insert_per_s",
   "bytes_per_vector", "rss_growth_per_vector",
   "plain": {"p50_ms", "p99_ms", "p50_cpu_ms", "p99_cpu_ms", "recall_at_10", ...},
   "filtered": {... same, or {"supported": false, "why"}}}
"""
import json
import sys

RECALL_GOAL, P50_GOAL_MS, BYTES_GOAL, TARGET_N = 0.95, 10.0, 100.0, 10_000_000


def load_last_json(path):
    with open(path) as f:
        lines = [line for line in f.read().splitlines() if line.strip().startswith("{")]
    return json.loads(lines[-1])


def rows_from_faiss(doc):
    rows = []
    for stage in doc["stages"]:
        for ix in stage["indexes"]:
            for s in ix["settings"]:
                setting = {} if s["knob"] == "none" else {s["knob"]: s["value"]}
                if s["rerank"]:
                    setting["rerank"] = s["rerank"]
                if s.get("selector"):
                    setting["selector"] = s["selector"]
                rows.append({"engine": ix["engine"], "index": ix["index"], "n": ix["n"], "setting": setting,
                             "build_s": ix["build_s"], "train_s": ix["train_s"], "insert_per_s": ix["insert_per_s"],
                             "bytes_per_vector": ix["bytes_per_vector"],
                             "rss_growth_per_vector": ix["rss_growth_per_vector"],
                             "plain": s["plain"], "filtered": s["filtered"], "load": stage["load"]})
    return rows


def fit_line(xs, ys):
    """Least squares y = a + b x; with one point, a line through the origin."""
    if len(xs) == 1:
        return 0.0, ys[0] / xs[0]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return my - b * mx, b


def key(row):
    return (row["engine"], row["index"], json.dumps(row["setting"], sort_keys=True))


def best_setting(rows, n, index, engine="faiss"):
    ok = [r for r in rows if r["n"] == n and r["index"] == index and r["engine"] == engine
          and r["plain"].get("recall_at_10", 0) >= RECALL_GOAL]
    return min(ok, key=lambda r: r["plain"]["p50_cpu_ms"]) if ok else None


def best_filtered(rows, n, index, engine="faiss"):
    ok = [r for r in rows if r["n"] == n and r["index"] == index and r["engine"] == engine
          and r["filtered"].get("recall_at_10", 0) >= RECALL_GOAL]
    return min(ok, key=lambda r: r["filtered"]["p50_cpu_ms"]) if ok else None


def project(rows, chosen):
    """Same index and setting at every measured n: fit against n, evaluate at TARGET_N."""
    same = sorted((r for r in rows if key(r) == key(chosen)), key=lambda r: r["n"])
    ns = [r["n"] for r in same]
    out = {"measured_at_n": ns, "recall_at_10_by_n": [round(r["plain"]["recall_at_10"], 4) for r in same]}
    if len(ns) < 2:  # latency has a fixed part: one point gives no line
        out["note"] = "one measured n: latency not projected, memory scaled from it"
    for fld in ("p50_cpu_ms", "p99_cpu_ms", "p50_ms"):
        vals = [r["plain"].get(fld) for r in same]
        if None in vals or len(ns) < 2:
            continue
        a, b = fit_line(ns, vals)
        out[fld] = a + b * TARGET_N
        out[fld + "_fit"] = {"a_ms": a, "b_ms_per_million": b * 1e6}
    if len(ns) > 1 and all(r["filtered"].get("supported") for r in same):
        a, b = fit_line(ns, [r["filtered"]["p50_cpu_ms"] for r in same])
        out["filtered_p50_cpu_ms"] = a + b * TARGET_N
    a, b = fit_line(ns, [r["bytes_per_vector"] * r["n"] for r in same])
    out["bytes_per_vector"] = a / TARGET_N + b
    out["index_gib"] = (a + b * TARGET_N) / 2**30
    # train once on a fixed-size sample; assignment + encoding grow with n
    last = same[-1]
    out["build_s"] = last["train_s"] + (last["build_s"] - last["train_s"]) * TARGET_N / last["n"]
    return out


def main():
    faiss_path, milvus_path, rerank_path, load_before, load_after = sys.argv[1:6]
    rerank = load_last_json(rerank_path) if rerank_path else None
    doc = load_last_json(faiss_path)
    rows = rows_from_faiss(doc)
    milvus = "not run (bench/run scale --milvus adds the Milvus column, see docs/scale.md)"
    if milvus_path:
        mdoc = load_last_json(milvus_path)
        rows += mdoc["rows"]
        milvus = {k: v for k, v in mdoc.items() if k != "rows"}
    top_n = max(r["n"] for r in rows)
    print(f"data: {doc['data']['kind']}, n up to {top_n:,}, dim {doc['dim']}, {doc['queries']} queries, "
          f"filter allows {doc['filter_fraction']:.0%} of ids; load {doc['load_start']} -> {doc['load_end']}")
    print(f"{'engine':<7}{'index':<16}{'n':>9} {'setting':<24}{'p50':>8}{'p50cpu':>8}{'p99':>8}{'rec@10':>8}"
          f"{'f.p50cpu':>9}{'f.rec':>7}{'B/vec':>8}{'build s':>9}{'ins/s':>9}")
    for r in rows:
        p, f = r["plain"], r["filtered"]
        st = ",".join(f"{k}={v}" for k, v in r["setting"].items()) or "-"
        fp = f"{f['p50_cpu_ms']:9.2f}{f['recall_at_10']:7.3f}" if f.get("supported") else f"{'n/a':>9}{'':>7}"
        pp = (f"{p['p50_ms']:8.2f}{p['p50_cpu_ms']:8.2f}{p['p99_ms']:8.2f}{p['recall_at_10']:8.3f}"
              if p.get("supported") else f"{'-':>8}{'-':>8}{'-':>8}{'-':>8}")
        print(f"{r['engine']:<7}{r['index']:<16}{r['n']:>9} {st:<24}{pp}{fp}{r['bytes_per_vector']:8.1f}"
              f"{r['build_s']:9.1f}{r['insert_per_s']:9.0f}")
    chosen, projections = {}, {}
    for index in sorted({r["index"] for r in rows if r["engine"] == "faiss" and r["index"] != "Flat"}):
        best = best_setting(rows, top_n, index)
        if best:
            chosen[index] = best
            projections[index] = project(rows, best)
    flat = [r for r in rows if r["index"] == "Flat" and r["engine"] == "faiss"]
    if flat:
        projections["Flat"] = project(rows, max(flat, key=lambda r: r["n"]))
    filtered_best = {ix: best_filtered(rows, top_n, ix) for ix in chosen}
    meets = {ix: {"p50_wall_lt_10ms": r["plain"]["p50_ms"] < P50_GOAL_MS,
                  "p50_cpu_lt_10ms": r["plain"]["p50_cpu_ms"] < P50_GOAL_MS,
                  "bytes_per_vector_le_100": r["bytes_per_vector"] <= BYTES_GOAL,
                  "filtered_recall_ge_0.95_same_setting": r["filtered"].get("recall_at_10", 0) >= RECALL_GOAL,
                  "filtered_p50_cpu_lt_10ms_at_recall_0.95": bool(filtered_best[ix]) and
                  filtered_best[ix]["filtered"]["p50_cpu_ms"] < P50_GOAL_MS}
             for ix, r in chosen.items()}
    winners = [ix for ix, m in meets.items() if m["p50_cpu_lt_10ms"] and m["bytes_per_vector_le_100"]]
    print(f"\nat n={top_n:,}, fastest setting with recall@10 >= {RECALL_GOAL} per index:")
    for ix, r in chosen.items():
        print(f"  {ix:<16} {r['setting']}: p50 {r['plain']['p50_ms']:.2f} ms (cpu {r['plain']['p50_cpu_ms']:.2f}), "
              f"recall {r['plain']['recall_at_10']:.3f}, {r['bytes_per_vector']:.1f} B/vector, goals {meets[ix]}")
    if rerank:
        for r in rerank["per_rerank"]:
            print(f"  re-rank of {r['rerank']} from SQLite ({rerank['rows']:,} catalog-shaped rows, page cache warm): "
                  f"p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms (add to the index's latency)")
    for ix, r in filtered_best.items():
        if r:
            f = r["filtered"]
            print(f"  filtered {ix:<16} best {r['setting']}: p50 {f['p50_ms']:.2f} ms (cpu {f['p50_cpu_ms']:.2f}), "
                  f"p99 {f['p99_ms']:.2f}, recall {f['recall_at_10']:.3f}")
        else:
            print(f"  filtered {ix:<16}: no measured setting reaches recall@10 {RECALL_GOAL} under the filter")
    for ix in sorted({r["index"] for r in rows if r["engine"] == "milvus"}):
        best, fbest = best_setting(rows, top_n, ix, "milvus"), best_filtered(rows, top_n, ix, "milvus")
        for what, r, part in (("", best, "plain"), ("filtered ", fbest, "filtered")):
            if r:
                p = r[part]
                print(f"  {what}milvus {ix:<16} best {r['setting']}: p50 {p['p50_ms']:.2f} ms wall, p99 "
                      f"{p['p99_ms']:.2f}, server cpu/query {p.get('server_cpu_ms_per_query', 0):.2f} ms, "
                      f"recall {p['recall_at_10']:.3f}, {r['bytes_per_vector']:.0f} B/vector (index files)")
            else:
                print(f"  {what}milvus {ix:<16}: no measured setting reaches recall@10 {RECALL_GOAL}")
    for ix, pr in projections.items():
        lat = f"p50 cpu {pr['p50_cpu_ms']:.2f} ms" if "p50_cpu_ms" in pr else "p50 not projected (one n)"
        print(f"  projected 10M {ix:<16}: {lat}, {pr['bytes_per_vector']:.1f} B/vector "
              f"({pr['index_gib']:.2f} GiB), build {pr['build_s'] / 60:.0f} min (fit over n={pr['measured_at_n']})")
    print(json.dumps({"bench": "scale", "data": doc["data"], "dim": doc["dim"], "queries": doc["queries"],
                      "filter_fraction": doc["filter_fraction"], "threads_query": 1,
                      "threads_build": doc["threads_build"], "load_before": load_before, "load_after": load_after,
                      "faiss_load": [doc["load_start"], doc["load_end"]], "rows": rows,
                      "chosen_at_max_n": {ix: {"setting": r["setting"], "n": r["n"]} for ix, r in chosen.items()},
                      "filtered_best_at_max_n": {ix: r and r["setting"] for ix, r in filtered_best.items()},
                      "goals_at_max_n": meets, "indexes_meeting_goals": winners,
                      "projection_10m": projections, "rerank_from_sqlite": rerank, "milvus": milvus}))


if __name__ == "__main__":
    main()
