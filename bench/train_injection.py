"""Train the prompt-injection detector (runtime/guards/injection.py) on the TRAIN part of the dev data.

    uv run python bench/train_injection.py                      # writes runtime/guards/injection_model.npz
    uv run python bench/train_injection.py PATH --out FILE      # another data file or output

The data is ``injection_dev.jsonl`` (default ``<repo>/../shared/data``; read at run time,
never copied into the repo). A row is TEST when ``sha256(text) % 10 < 3`` and TRAIN
otherwise; TEST is left to ``bench/guards.py``, everything here sees TRAIN only:

1. every TRAIN text becomes feature rows with the runtime's own :class:`InjectionFeatures`
   (the whole text, then its windows), so training and scoring cannot drift apart;
2. for each candidate (regularisation ``C``, block scales, window size), 5-fold
   cross-validation repeated with three seeds, stratified by kind, gives out-of-fold scores
   (a text's score is its highest over its rows, as at run time) and TPR at 1 % FPR on
   benign texts. Each held-out fold also yields *hidden-payload probes*: its short
   injections (direct, indirect, extraction) inserted in the middle of a 2,000-character
   document made of its benign texts, which is what windows are for and what dev holds too
   few of. Among the candidates within :data:`TPR_SLACK` of the best TPR, the one that
   catches the most probes wins (then TPR, then AUC);
3. the threshold is the score that only :data:`TARGET_OOF_FPR` of out-of-fold benign scores
   reach: half the 1 % budget, a margin for texts unlike TRAIN;
4. the winner is refitted on all of TRAIN and written with its settings, the threshold, the
   data's sha256 and the date.

Logistic regression (scikit-learn, a dev dependency) with balanced class weights; the seeds
are fixed, so the same data gives the same file.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import itertools
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from agentops.runtime.guards.injection import (
    MODEL_FILE,
    FeatureConfig,
    InjectionFeatures,
    Model,
    load_wordllama,
    write_model,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "injection_dev.jsonl"
SEEDS = (0, 1, 2)
FOLDS = 5
TARGET_FPR = 0.01
TARGET_OOF_FPR = 0.005
GRID_C = (16.0, 64.0)
GRID_SCALES = (
    {"embed": 1.0, "rules": 0.5, "chars": 1.0, "words": 1.0},
    {"embed": 0.7, "rules": 0.5, "chars": 1.0, "words": 1.0},
)
GRID_WINDOW = (0, 256, 512, 1024)
"""Window sizes in characters (0: the whole text only); the stride is half the window."""
TPR_SLACK = 0.01
"""Out-of-fold TPR a candidate may give up for catching more hidden-payload probes."""
PROBE_HOST_CHARS = 2000
PROBE_PAYLOAD_CHARS = 300
BLOCKS = ("embed", "rules", "chars", "words")


def is_test(text: str) -> bool:
    """Whether a row belongs to TEST (30 %, by the text's hash)."""
    return int(hashlib.sha256(text.encode()).hexdigest(), 16) % 10 < 3


def load(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSONL file (exits with a message when it is missing)."""
    if not path.is_file():
        sys.exit(f"{path} not found: pass the path of injection_dev.jsonl")
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def split(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(TRAIN, TEST)."""
    return [r for r in rows if not is_test(r["text"])], [r for r in rows if is_test(r["text"])]


@dataclass
class Matrix:
    """Feature rows of many texts, unscaled: ``owner[i]`` is the text of row ``i``."""

    x: sp.csr_matrix
    owner: np.ndarray
    whole: np.ndarray
    """True for the row of a whole text (the first of each text's rows)."""
    config: FeatureConfig

    def scaled(self, scales: dict[str, float]) -> sp.csr_matrix:
        """The rows with each block multiplied by its scale."""
        column = np.ones(self.config.size, np.float32)
        bounds = [*(self.config.offsets[b] for b in BLOCKS), self.config.size]
        for block, lo, hi in zip(BLOCKS, bounds, bounds[1:], strict=False):
            column[lo:hi] = scales[block]
        return sp.csr_matrix(self.x @ sp.diags(column))

    def select(self, texts: np.ndarray) -> np.ndarray:
        """Row numbers of the given texts."""
        return np.flatnonzero(np.isin(self.owner, texts))

    def training_rows(self, texts: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Rows to fit on: every text whole, and every window of a benign text.

        An injection's windows are not used: which of them holds the payload is unknown.
        A benign text's windows are benign, and teach the model what the windows of an
        ordinary long document look like, since at run time the highest window counts.
        """
        mask = np.isin(self.owner, texts)
        return np.flatnonzero(mask & (self.whole | (y[self.owner] == 0)))


def featurize(texts: list[str], config: FeatureConfig) -> Matrix:
    """Every text's rows (whole text first, then windows), with all block scales at 1."""
    features = InjectionFeatures(replace(config, scales=dict.fromkeys(BLOCKS, 1.0)), load_wordllama())
    indices, values, indptr, owner, whole = [], [], [0], [], []
    for n, text in enumerate(texts):
        rows, _ = features.extract(text)
        for k, (i, v) in enumerate(rows):
            indices.append(i)
            values.append(v)
            indptr.append(indptr[-1] + len(i))
            owner.append(n)
            whole.append(k == 0)
    x = sp.csr_matrix(
        (np.concatenate(values), np.concatenate(indices), np.array(indptr)), shape=(len(owner), config.size)
    )
    return Matrix(x, np.array(owner), np.array(whole), config)


def fit(x: sp.csr_matrix, y: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    """Logistic regression: the weights and the bias."""
    # liblinear's primal solver is deterministic; the intercept's scaling keeps its penalty negligible.
    model = LogisticRegression(C=c, class_weight="balanced", solver="liblinear", intercept_scaling=10.0, tol=1e-6)
    model.fit(x, y)
    return model.coef_[0].astype(np.float32), float(model.intercept_[0])


def text_scores(x: sp.csr_matrix, owner: np.ndarray, n_texts: int, w: np.ndarray, b: float) -> np.ndarray:
    """Each text's logit: the highest over its rows (texts without rows get -inf)."""
    logits = np.full(n_texts, -np.inf)
    np.maximum.at(logits, owner, x @ w + b)
    return logits


@dataclass
class Fold:
    """One fold of one seed: the texts to fit on, the held-out texts, and the held-out probes."""

    seed: int
    fit: np.ndarray
    held: np.ndarray
    probes: dict[int, Matrix]
    """The fold's hidden-payload probes, featurized per window size."""


def make_folds(texts: list[str], y: np.ndarray, kinds: np.ndarray) -> list[Fold]:
    """Every fold of every seed, stratified by kind, with its probes."""
    found = []
    for seed in SEEDS:
        splitter = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
        for fit_idx, held_idx in splitter.split(np.zeros(len(kinds)), kinds):
            probes = probe_texts(texts, y, kinds, held_idx)
            mats = {w: featurize(probes, FeatureConfig(window=w, stride=w // 2)) for w in GRID_WINDOW}
            found.append(Fold(seed, fit_idx, held_idx, mats))
    return found


def probe_texts(texts: list[str], y: np.ndarray, kinds: np.ndarray, held: np.ndarray) -> list[str]:
    """The held-out short injections, each hidden in a document of held-out benign texts."""
    pool = [texts[i] for i in held if kinds[i] == "benign"]
    payloads = [
        texts[i]
        for i in held
        if y[i] and kinds[i] in ("direct", "indirect", "extraction") and len(texts[i]) <= PROBE_PAYLOAD_CHARS
    ]
    probes = []
    for n, payload in enumerate(payloads):
        host, k = "", n
        while len(host) < PROBE_HOST_CHARS:
            host += pool[k % len(pool)] + " "
            k += 1
        middle = host.find(". ", len(host) // 2)
        cut = middle + 2 if middle >= 0 else len(host) // 2
        probes.append(f"{host[:cut]}{payload} {host[cut:]}")
    return probes


def out_of_fold(
    m: Matrix, y: np.ndarray, folds: list[Fold], c: float, scales: dict[str, float]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Out-of-fold logits (one column per seed) and each seed's probe logits."""
    x = m.scaled(scales)
    oof = np.zeros((len(y), len(SEEDS)))
    probes: list[list[np.ndarray]] = [[] for _ in SEEDS]
    for fold in folds:
        rows = m.training_rows(fold.fit, y)
        w, b = fit(x[rows], y[m.owner[rows]], c)
        held_rows = m.select(fold.held)
        oof[fold.held, SEEDS.index(fold.seed)] = text_scores(x[held_rows], m.owner[held_rows], len(y), w, b)[fold.held]
        p = fold.probes[m.config.window]
        probes[SEEDS.index(fold.seed)].append(text_scores(p.scaled(scales), p.owner, int(p.owner.max()) + 1, w, b))
    return oof, [np.concatenate(p) for p in probes]


def tpr_at_fpr(scores: np.ndarray, y: np.ndarray, benign: np.ndarray, fpr: float) -> tuple[float, float]:
    """(TPR, threshold) at the lowest threshold that keeps benign FPR at most ``fpr``."""
    threshold = threshold_for(scores[benign], fpr)
    return float((scores[y == 1] >= threshold).mean()), threshold


def threshold_for(benign_scores: np.ndarray, fpr: float) -> float:
    """The lowest score that at most ``fpr`` of the benign scores reach."""
    ordered = np.sort(benign_scores)[::-1]
    allowed = int(np.floor(fpr * len(ordered)))
    return float(np.nextafter(ordered[allowed], np.inf))


@dataclass
class Candidate:
    """One setting's cross-validated result."""

    c: float
    scales: dict[str, float]
    window: int
    tpr_1: float
    auc: float
    hidden: float
    """Share of hidden-payload probes over the 1 % FPR threshold."""
    oof: np.ndarray


def evaluate(texts: list[str], y: np.ndarray, kinds: np.ndarray) -> list[Candidate]:
    """Every candidate of the grid, cross-validated on TRAIN."""
    folds = make_folds(texts, y, kinds)
    print(
        f"cross-validation on TRAIN: {FOLDS} folds x {len(SEEDS)} seeds; {len(folds[0].probes[0].whole)} probes a fold"
    )
    benign = y == 0
    found = []
    for window in GRID_WINDOW:
        m = featurize(texts, FeatureConfig(window=window, stride=window // 2))
        for c, scales in itertools.product(GRID_C, GRID_SCALES):
            oof, probes = out_of_fold(m, y, folds, c, scales)
            cuts = [tpr_at_fpr(oof[:, k], y, benign, TARGET_FPR) for k in range(len(SEEDS))]
            tpr = float(np.mean([t for t, _ in cuts]))
            hidden = float(np.mean([(p >= cut).mean() for p, (_, cut) in zip(probes, cuts, strict=True)]))
            auc = float(np.mean([roc_auc_score(y, oof[:, k]) for k in range(len(SEEDS))]))
            found.append(Candidate(c, scales, window, tpr, auc, hidden, oof))
            print(
                f"  window {window:4d}  C {c:4.0f}  scales {_show(scales)}  "
                f"TPR@1%FPR {tpr:.3f}  AUC {auc:.4f}  hidden payloads caught {hidden:.3f}"
            )
    return found


def choose(candidates: list[Candidate]) -> Candidate:
    """The candidate catching the most probes among those within TPR_SLACK of the best TPR."""
    best_tpr = max(c.tpr_1 for c in candidates)
    eligible = [c for c in candidates if c.tpr_1 >= best_tpr - TPR_SLACK]
    return max(eligible, key=lambda c: (round(c.hidden, 3), round(c.tpr_1, 3), c.auc))


def per_kind(scores: np.ndarray, threshold: float, kinds: np.ndarray) -> str:
    """Share of each kind's texts at or over the threshold."""
    return "  ".join(f"{k} {(scores[kinds == k] >= threshold).mean():.3f}" for k in sorted(set(kinds)))


def train(data: Path, out: Path) -> Model:
    """Cross-validate the grid on TRAIN, refit the winner, write the weights file."""
    train_rows, test_rows = split(load(data))
    texts = [r["text"] for r in train_rows]
    y = np.array([r["label"] == "injection" for r in train_rows], dtype=int)
    kinds = np.array([r["kind"] for r in train_rows])
    benign = y == 0
    print(f"{data}: TRAIN {len(texts)} texts ({int(y.sum())} injections), TEST {len(test_rows)} (left untouched)")
    best = choose(evaluate(texts, y, kinds))
    pooled_benign = best.oof[benign].ravel()
    logit = threshold_for(pooled_benign, TARGET_OOF_FPR)
    threshold = float(1.0 / (1.0 + np.exp(-logit)))
    oof_mean = best.oof.mean(axis=1)
    print(
        f"\nchosen: window {best.window}, C {best.c:g}, scales {_show(best.scales)} "
        f"(TPR@1%FPR {best.tpr_1:.3f}, AUC {best.auc:.4f}, hidden payloads caught {best.hidden:.3f})"
    )
    print(f"threshold {threshold:.4f} (logit {logit:.3f}): {TARGET_OOF_FPR:.1%} of out-of-fold benign scores reach it")
    print(f"out-of-fold flagged at that threshold (scores averaged over seeds): {per_kind(oof_mean, logit, kinds)}")
    print(f"  all injections {(oof_mean[y == 1] >= logit).mean():.3f}")
    config = FeatureConfig(window=best.window, stride=best.window // 2, scales=best.scales)
    m = featurize(texts, config)
    x = m.scaled(best.scales)
    rows = m.training_rows(np.arange(len(texts)), y)
    w, b = fit(x[rows], y[m.owner[rows]], best.c)
    meta = {
        "trained": datetime.date.today().isoformat(),
        "data": data.name,
        "data_sha256": hashlib.sha256(data.read_bytes()).hexdigest(),
        "train_rows": len(texts),
        "split": "TEST when int(sha256(text), 16) % 10 < 3",
        "C": best.c,
        "cv": {
            "folds": FOLDS,
            "seeds": list(SEEDS),
            "tpr_at_1pct_fpr": best.tpr_1,
            "auc": best.auc,
            "hidden_payloads_caught": best.hidden,
        },
        "threshold_rule": f"{TARGET_OOF_FPR} of out-of-fold benign scores at or above",
    }
    model = Model(config, w, b, threshold, meta)
    write_model(out, model)
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB, {int(np.count_nonzero(w))} nonzero weights)")
    return model


def _show(scales: dict[str, float]) -> str:
    return "/".join(f"{scales[b]:g}" for b in BLOCKS)


def main(argv: list[str] | None = None) -> int:
    """Train and write the weights file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA, help="injection_dev.jsonl")
    parser.add_argument("--out", type=Path, default=MODEL_FILE, help="weights file to write")
    args = parser.parse_args(argv)
    train(args.data, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
