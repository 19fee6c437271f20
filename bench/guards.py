"""Prompt-injection detector: detection and false-positive rates on TEST, latency, and a baseline.

    uv run python bench/guards.py                   # about a minute on 2 cores
    uv run python bench/guards.py --json            # the same figures as one JSON object
    uv run python bench/guards.py PATH --rounds 3   # another data file; fewer latency rounds

The data is ``injection_dev.jsonl`` (default ``<repo>/../shared/data``; read at run time,
never copied into the repo), split as ``bench/train_injection.py`` splits it: TEST is the
rows with ``sha256(text) % 10 < 3``, which the shipped weights never saw.

Printed for the shipped detector (:class:`~agentops.runtime.guards.injection.InjectionScorer`)
and for a plain n-gram baseline trained on TRAIN in the same run (TF-IDF of word 1-2-grams
and character 3-5-grams, logistic regression with ``C`` = :data:`BASELINE_C`; its threshold
chosen like the detector's, on out-of-fold scores within TRAIN):

- per kind (direct, indirect, jailbreak, extraction) the share flagged at the threshold,
  the share of benign and of benign_trigger texts flagged, and all injections flagged;
- threshold-free: TPR at 1 % and 5 % FPR on TEST's benign texts (both benign kinds), AUC;
- latency per screened text (the detector only): ``score(text)`` on each TEST text, single
  thread, after a warm-up round, P50/P95/max over ``--rounds`` rounds.

Targets (the issue): TPR >= 0.95 at FPR <= 1 %; direct TPR >= 0.90; benign_trigger flagged
<= 2 %; latency P95 <= 5 ms. Results and their reading are in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_union
from threadpoolctl import threadpool_limits
from train_injection import DEFAULT_DATA, TARGET_OOF_FPR, load, split, threshold_for

from agentops.runtime.guards.injection import InjectionScorer

KINDS = ("direct", "indirect", "jailbreak", "extraction")
BENIGN = ("benign", "benign_trigger")
BASELINE_C = 16.0
TARGETS = {"tpr_at_1pct_fpr": 0.95, "direct": 0.90, "benign_trigger": 0.02, "latency_p95_ms": 5.0}


def figures(scores: np.ndarray, threshold: float, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The detection figures of one detector's scores on TEST."""
    kinds = np.array([r["kind"] for r in rows])
    y = np.array([r["label"] == "injection" for r in rows])
    flagged = scores >= threshold
    out: dict[str, Any] = {"threshold": threshold}
    for kind in (*KINDS, *BENIGN):
        out[kind] = {"n": int((kinds == kind).sum()), "flagged": float(flagged[kinds == kind].mean())}
    out["injection"] = {"n": int(y.sum()), "flagged": float(flagged[y].mean())}
    out["all_benign"] = {"n": int((~y).sum()), "flagged": float(flagged[~y].mean())}
    for fpr in (0.01, 0.05):
        cut = threshold_for(scores[~y], fpr)
        out[f"tpr_at_{round(fpr * 100)}pct_fpr"] = float((scores[y] >= cut).mean())
    out["auc"] = float(roc_auc_score(y, scores))
    return out


def latency(scorer: InjectionScorer, texts: list[str], rounds: int) -> dict[str, float]:
    """Milliseconds per ``score(text)``, single thread, after one warm-up round."""
    times = []
    with threadpool_limits(1):
        for text in texts:
            scorer.score(text)
        for _ in range(rounds):
            for text in texts:
                start = time.perf_counter()
                scorer.score(text)
                times.append((time.perf_counter() - start) * 1000)
    p50, p95 = np.percentile(times, [50, 95])
    return {"p50_ms": float(p50), "p95_ms": float(p95), "max_ms": float(max(times)), "samples": len(times)}


def baseline() -> Pipeline:
    """The plain n-gram logistic regression the detector is measured against."""
    ngrams = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True),
    )
    lr = LogisticRegression(C=BASELINE_C, class_weight="balanced", solver="liblinear")
    return Pipeline([("ngrams", ngrams), ("lr", lr)])


def baseline_scores(train: list[dict[str, Any]], test: list[dict[str, Any]]) -> tuple[np.ndarray, float]:
    """The baseline's TEST logits, and its threshold from 5-fold out-of-fold scores on TRAIN."""
    texts = np.array([r["text"] for r in train], dtype=object)
    y = np.array([r["label"] == "injection" for r in train], dtype=int)
    oof = np.zeros(len(y))
    for fit_idx, held_idx in StratifiedKFold(5, shuffle=True, random_state=0).split(texts, [r["kind"] for r in train]):
        oof[held_idx] = baseline().fit(texts[fit_idx], y[fit_idx]).decision_function(texts[held_idx])
    model = baseline().fit(texts, y)
    return model.decision_function([r["text"] for r in test]), threshold_for(oof[y == 0], TARGET_OOF_FPR)


def report(name: str, f: dict[str, Any]) -> None:
    """One detector's figures as a table."""
    print(f"\n{name} (threshold {f['threshold']:.4f})")
    print(f"{'kind':16s} {'texts':>5s} {'flagged':>8s}")
    for kind in (*KINDS, "injection", *BENIGN, "all_benign"):
        print(f"{kind:16s} {f[kind]['n']:5d} {f[kind]['flagged']:8.1%}")
    print(f"TPR at 1 % FPR {f['tpr_at_1pct_fpr']:.3f}   TPR at 5 % FPR {f['tpr_at_5pct_fpr']:.3f}   AUC {f['auc']:.4f}")


def verdicts(f: dict[str, Any], lat: dict[str, float]) -> dict[str, dict[str, Any]]:
    """Each target: the figure and whether it is met."""
    got = {
        "tpr_at_1pct_fpr": f["tpr_at_1pct_fpr"],
        "direct": f["direct"]["flagged"],
        "benign_trigger": f["benign_trigger"]["flagged"],
        "latency_p95_ms": lat["p95_ms"],
    }
    lower_is_better = {"benign_trigger", "latency_p95_ms"}
    return {
        k: {"target": t, "got": got[k], "met": got[k] <= t if k in lower_is_better else got[k] >= t}
        for k, t in TARGETS.items()
    }


def main(argv: list[str] | None = None) -> int:
    """Measure the detector and the baseline on TEST and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA, help="injection_dev.jsonl")
    parser.add_argument("--rounds", type=int, default=5, help="latency rounds over TEST (default 5)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    args = parser.parse_args(argv)
    train, test = split(load(args.data))
    scorer = InjectionScorer()
    texts = [r["text"] for r in test]
    ours = figures(np.array([scorer.score(t).score for t in texts]), scorer.threshold, test)
    lat = latency(scorer, texts, args.rounds)
    base_logits, base_threshold = baseline_scores(train, test)
    base = figures(base_logits, base_threshold, test)
    result = {
        "test_rows": len(test),
        "detector": ours,
        "latency": lat,
        "baseline": base,
        "targets": verdicts(ours, lat),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{args.data}: TEST {len(test)} rows (TRAIN {len(train)} rows: the weights' and the baseline's)")
    report("detector (runtime/guards/injection.py)", ours)
    print(
        f"latency per text: P50 {lat['p50_ms']:.2f} ms  P95 {lat['p95_ms']:.2f} ms  max {lat['max_ms']:.2f} ms"
        f"  ({lat['samples']} calls, single thread)"
    )
    report("baseline: TF-IDF word 1-2 + char 3-5, logistic regression", base)
    print("\ntargets")
    for name, v in result["targets"].items():
        print(f"  {name:16s} target {v['target']:<5g} got {v['got']:.3f}  {'met' if v['met'] else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
