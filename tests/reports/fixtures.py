"""Realistic result directories (CONTRACTS.md §9 records + §5 traces) built with numpy/pandas only.

``build_result_dir(out)`` writes ``out/run.json``, ``out/records/*.json`` (six checks covering
every verdict, two backends, sweeps, staleness, throughput, a counterexample) and
``out/traces/*.parquet``. ``make_trace`` builds one trace with the §5 columns.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

MATHML_NONCONVEX = (
    '<math xmlns="http://www.w3.org/1998/Math/MathML"><mrow><munder><mo>min</mo><mrow><mi>t</mi>'
    '<mo>&lt;</mo><mi>T</mi></mrow></munder><mi mathvariant="double-struck">E</mi><msup><mrow>'
    '<mo>‖</mo><mo>∇</mo><mi>f</mi><mo>(</mo><msub><mi>x</mi><mi>t</mi></msub><mo>)</mo><mo>‖</mo>'
    '</mrow><mn>2</mn></msup><mo>≤</mo><mfrac><mrow><mn>2</mn><mo>(</mo><mi>f</mi><mo>(</mo>'
    '<msub><mi>x</mi><mn>0</mn></msub><mo>)</mo><mo>−</mo><msup><mi>f</mi><mo>*</mo></msup><mo>)</mo>'
    '</mrow><mrow><mi>η</mi><mi>T</mi></mrow></mfrac><mo>+</mo><mi>η</mi><mi>L</mi><msup><mi>σ</mi>'
    '<mn>2</mn></msup><mo>(</mo><mn>1</mn><mo>+</mo><mn>2</mn><mi>τ</mi><mo>)</mo></mrow></math>'
)
LATEX_NONCONVEX = r"\min_{t<T} \mathbb{E}\|\nabla f(x_t)\|^2 \le \frac{2(f(x_0)-f^*)}{\eta T} + \eta L \sigma^2 (1 + 2\tau)"
MATHML_STRONGLY = (
    '<math><mrow><mi mathvariant="double-struck">E</mi><msup><mrow><mo>‖</mo><msub><mi>x</mi><mi>T</mi>'
    '</msub><mo>−</mo><msup><mi>x</mi><mo>*</mo></msup><mo>‖</mo></mrow><mn>2</mn></msup><mo>≤</mo>'
    '<msup><mrow><mo>(</mo><mn>1</mn><mo>−</mo><mi>η</mi><mi>μ</mi><mo>)</mo></mrow><mi>T</mi></msup>'
    '<msubsup><mi>D</mi><mn>0</mn><mn>2</mn></msubsup><mo>+</mo><mfrac><mrow><mi>η</mi><msup><mi>σ</mi>'
    '<mn>2</mn></msup></mrow><mi>μ</mi></mfrac></mrow></math>'
)

RUN = {
    "schema": "asyncbound.run/1",
    "command": "asyncbound check --suite smoke --out results/smoke",
    "argv": ["asyncbound", "check", "--suite", "smoke", "--out", "results/smoke"],
    "git_commit": "0fc5452d1c0ffee0000000000000000000000000",
    "versions": {"python": "3.11.2", "torch": "2.5.1", "numpy": "2.4.6", "asyncbound": "0.1.0"},
    "machine": {"cpu": "AMD EPYC 7B13 (2 vCPU)", "gpu": None, "cores": 2},
    "seeds": [0, 1, 2, 3],
    "date": "2026-11-21T14:00:00Z",
    "suite": "smoke",
}


def make_trace(n_rows: int, n_workers: int = 4, n_seeds: int = 2, tau: int = 8, seed: int = 0,
               eval_every: int = 10, diverge: bool = False) -> pd.DataFrame:
    """A synthetic trace with the CONTRACTS §5 columns and dtypes (``n_rows`` rows in all)."""
    rng = np.random.default_rng(seed)
    per_seed = max(1, n_rows // n_seeds)
    frames = []
    for s in range(n_seeds):
        n = per_seed if s < n_seeds - 1 else n_rows - per_seed * (n_seeds - 1)
        update = np.arange(n, dtype=np.int64)
        worker = rng.integers(0, n_workers, n).astype(np.int32)
        # slower workers (higher index) see more staleness
        stale = np.minimum(rng.geometric(1.0 / (1.0 + 0.6 * (worker + 1)), n) - 1, tau).astype(np.int64)
        stale = np.minimum(stale, update)
        write = update.copy()
        read = write - stale
        t = np.arange(1, n + 1, dtype=np.float64)
        grad = (50.0 / t + 0.02) * rng.lognormal(0.0, 0.3, n)
        if diverge:
            grad = grad * np.exp(t / max(n / 12.0, 1.0))
        loss = grad * 0.5 + 0.1
        mask = (update % eval_every) != 0
        loss[mask] = np.nan
        grad_eval = grad.copy()
        grad_eval[mask] = np.nan
        frames.append(pd.DataFrame({
            "seed": np.full(n, s, dtype=np.int32),
            "update": update,
            "worker": worker,
            "block": np.full(n, -1, dtype=np.int32),
            "read_version": read,
            "write_version": write,
            "staleness": stale,
            "wall_time": np.cumsum(rng.exponential(1e-3, n)),
            "loss": loss,
            "grad_norm_sq": grad_eval,
            "sgrad_norm_sq": grad * rng.chisquare(4, n) / 4,
            "view_gap": np.abs(rng.normal(0, 0.01, n)) * np.sqrt(stale + 1),
            "ef_residual": np.full(n, np.nan),
        }))
    return pd.concat(frames, ignore_index=True)


def _series(n: int = 40, bound_scale: float = 5.0, cross: bool = False, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    it = np.unique(np.geomspace(1, 2000, n).astype(int))
    mean = 40.0 / it + 0.01 * (1 + 0.1 * rng.standard_normal(len(it)))
    if cross:
        mean = mean * np.linspace(1.0, 12.0, len(it))
    half = 0.25 * mean
    bound = bound_scale * (40.0 / it + 0.012)
    return {"iteration": it.tolist(), "mean": mean.tolist(), "lo": (mean - half).tolist(),
            "hi": (mean + half).tolist(), "bound": bound.tolist()}


def _staleness_hist(n_workers: int, tau: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    out = {}
    for w in range(n_workers):
        values = np.arange(tau + 1)
        counts = rng.poisson(2000 * np.exp(-values / (1.0 + w)))
        out[str(w)] = {"values": values.tolist(), "counts": counts.tolist()}
    return {"per_worker": out}


def _bound(key: str, metric: str, metric_id: str, kind: str, provenance: str, mathml: str | None,
           latex: str | None, source: str) -> dict:
    return {"key": key, "paper": key.split("/")[0], "metric": metric, "metric_id": metric_id, "kind": kind,
            "provenance": provenance, "latex": latex, "mathml": mathml, "source": source}


def records() -> list[dict]:
    """Six records: every verdict, reference and processes backends (no trace_files set)."""
    nonconvex = _bound("nadiradze2021/nonconvex_sigma", "min_t E‖∇f(x_t)‖²", "min_grad_sq", "UPPER",
                       "reconstructed", MATHML_NONCONVEX, LATEX_NONCONVEX,
                       "Nadiradze et al., AAAI 2021, arXiv:2001.05918v3, Thm 4.1")
    nonconvex["crosscheck"] = {"status": "VALID", "text": "VALID on the full grid (2026-12-02, "
                               "376 SDPs): worst case / bound <= 0.675"}
    strongly = _bound("mania2017/strongly_convex", "E‖x_T − x*‖²", "final_dist_sq", "UPPER", "verified",
                      MATHML_STRONGLY, r"\mathbb{E}\|x_T-x^*\|^2 \le (1-\eta\mu)^T D_0^2 + \eta\sigma^2/\mu",
                      "Mania et al., SIAM J. Optim. 2017, arXiv:1507.06970v2, Thm 3.1")
    lower = _bound("arjevani2020/lower_tau", "min_t E‖∇f(x_t)‖²", "min_grad_sq", "LOWER", "derived", None,
                   r"\Omega\left(\sqrt{\tau L \Delta / T}\right)", "Arjevani et al., ALT 2020, Thm 2")
    consts = {
        "L": {"value": 1.0, "origin": "certified", "how": "largest eigenvalue of A, by construction"},
        "sigma2": {"value": 0.25, "origin": "certified", "how": "variance of the additive Gaussian noise"},
        "tau": {"value": 8, "origin": "measured", "how": "max staleness of the trace"},
        "f0_minus_fstar": {"value": 12.5, "origin": "measured", "how": "f(x0) - f* at the start"},
    }
    conds_ok = [{"text": "eta <= 1/(L*(1+2*tau))", "lhs": 0.01, "rhs": 0.0588, "holds": True},
                {"text": "T >= 1", "lhs": 2000, "rhs": 1, "holds": True}]
    sweep = [{"tau": t, "workers": w, "ratio": 0.12 + 0.02 * t + 0.01 * w, "measured": 0.01, "bound": 0.1}
             for t in (0, 2, 4, 8, 16) for w in (1, 2, 4)]
    speedup = [{"workers": w, "speedup": s, "updates_per_s": 900.0 * s}
               for w, s in ((1, 1.0), (2, 1.85), (4, 3.1), (8, 4.2))]
    base = {"schema": "asyncbound.record/1", "problem": "quadratic", "workers": 4,
            "config": {"steps": 2000, "lr": 0.01, "delay": "uniform:8", "seeds": 32}, "duration_s": 1.2}
    recs = [
        dict(base, check_id="hogwild_sgd--nadiradze2021-nonconvex_sigma--reference", verdict="PASS",
             reason="The upper confidence limit of min E‖∇f‖² (0.012) is below the bound (0.05) at every checkpoint.",
             algorithm="hogwild_sgd", backend="reference", bound=nonconvex,
             measured={"value": 0.01, "ci_low": 0.008, "ci_high": 0.012, "n_seeds": 32, "alpha": 0.01},
             bound_value=0.05, ratio=0.2, constants=consts, conditions=conds_ok, series=_series(seed=1),
             sweep=sweep, staleness=_staleness_hist(4, 8, 1), counterexample=None),
        dict(base, check_id="hogwild_sgd--nadiradze2021-nonconvex_sigma--processes", verdict="PASS",
             reason="Measured staleness stayed within tau = 8 and the bound held with margin 3.1x.",
             algorithm="hogwild_sgd", backend="processes", bound=nonconvex,
             measured={"value": 0.016, "ci_low": 0.011, "ci_high": 0.021, "n_seeds": 8, "alpha": 0.01},
             bound_value=0.05, ratio=0.32, constants=consts, conditions=conds_ok, series=_series(seed=2),
             throughput={"updates_per_s": 2790.0, "speedup": speedup}),
        dict(base, check_id="delayed_sgd--mania2017-strongly_convex--reference", verdict="FAIL",
             reason="E‖x_T − x*‖² exceeded the bound from iteration 310 on (ratio 2.7 at T = 2000).",
             algorithm="delayed_sgd", backend="reference", bound=strongly,
             measured={"value": 0.27, "ci_low": 0.21, "ci_high": 0.33, "n_seeds": 32, "alpha": 0.01},
             bound_value=0.1, ratio=2.7,
             constants={"mu": {"value": 0.1, "origin": "certified", "how": "smallest eigenvalue of A"},
                        "sigma2": {"value": 0.25, "origin": "certified", "how": "noise variance"},
                        "tau": {"value": 16, "origin": "measured", "how": "max staleness"}},
             conditions=[{"text": "eta <= mu/(L**2*tau)", "lhs": 0.01, "rhs": 0.00625, "holds": False}],
             series=_series(seed=3, bound_scale=0.8, cross=True),
             sweep=[{"tau": t, "workers": 4, "ratio": 0.5 * (1 + t / 4), "measured": None, "bound": None}
                    for t in (0, 4, 8, 16)],
             counterexample={"tau": 16, "workers": 2, "lr": 0.01, "delay": "adversarial:16", "steps": 400,
                             "seed": 7, "measured": 0.31, "bound": 0.1}),
        dict(base, check_id="hogwild_sgd--arjevani2020-lower_tau--reference", verdict="INCONCLUSIVE",
             reason="The confidence interval [0.004, 0.02] straddles the lower bound 0.009; more seeds needed.",
             algorithm="hogwild_sgd", backend="reference", bound=lower,
             measured={"value": 0.011, "ci_low": 0.004, "ci_high": 0.02, "n_seeds": 8, "alpha": 0.01},
             bound_value=0.009, ratio=1.22, constants=consts, conditions=conds_ok),
        dict(base, check_id="sparse_ef--nadiradze2021-nonconvex_sigma--reference", verdict="NOT_APPLICABLE",
             reason="The bound assumes bounded gradients (G), which the quadratic problem does not have.",
             algorithm="sparse_ef", backend="reference", bound=dict(nonconvex, mathml=None), measured=None,
             bound_value=None, ratio=None, conditions=[{"text": "G < oo", "lhs": None, "rhs": None, "holds": None}]),
        dict(base, check_id="adam_async--nadiradze2021-nonconvex_sigma--processes", verdict="DIVERGED",
             reason="The loss became non-finite at update 1,734 (lr = 0.5 is above 1/L).",
             algorithm="adam_async", backend="processes", bound=nonconvex,
             measured={"value": float("inf"), "ci_low": None, "ci_high": None, "n_seeds": 4, "alpha": 0.01},
             bound_value=0.05, ratio=float("inf"),
             config={"steps": 2000, "lr": 0.5, "delay": "none", "seeds": 4}),
        # issue 16: a check whose variant crashed
        dict(base, check_id="zz_crashing--nadiradze2021-nonconvex_sigma--reference", verdict="ERROR",
             reason="the check could not run: RuntimeError: planted: this rule raises",
             error="RuntimeError: planted: this rule raises",
             algorithm="zz_crashing", backend="reference", bound=nonconvex, measured=None,
             bound_value=None, ratio=None),
    ]
    return recs


def build_result_dir(out: str | Path, trace_rows: int = 20_000, n_workers: int = 4) -> Path:
    """Write a complete result directory (run.json, records, traces) and return ``out``."""
    out = Path(out)
    (out / "records").mkdir(parents=True, exist_ok=True)
    (out / "traces").mkdir(exist_ok=True)
    (out / "run.json").write_text(json.dumps(RUN, indent=2), encoding="utf-8")
    for i, rec in enumerate(records()):
        cid = rec["check_id"]
        if rec["verdict"] in ("PASS", "FAIL", "DIVERGED") and i != 0:
            name = f"traces/{cid}.parquet"
            tau = 16 if rec["verdict"] == "FAIL" else 8
            make_trace(trace_rows, n_workers=n_workers, tau=tau, seed=i,
                       diverge=rec["verdict"] == "DIVERGED").to_parquet(out / name, index=False)
            rec = dict(rec, trace_files=[name])
        (out / "records" / f"{cid}.json").write_text(json.dumps(rec, indent=1), encoding="utf-8")
    return out


def write_large(out: str | Path, n_records: int = 10, total_rows: int = 1_000_000) -> Path:
    """A result directory of ``n_records`` PASS records sharing ``total_rows`` trace rows."""
    out = Path(out)
    (out / "records").mkdir(parents=True, exist_ok=True)
    (out / "traces").mkdir(exist_ok=True)
    (out / "run.json").write_text(json.dumps(RUN), encoding="utf-8")
    template = records()[0]
    per = total_rows // n_records
    for i in range(n_records):
        cid = f"hogwild_sgd--nadiradze2021-nonconvex_sigma--w{i:02d}"
        name = f"traces/{cid}.parquet"
        make_trace(per, n_workers=8, n_seeds=4, tau=32, seed=100 + i).to_parquet(out / name, index=False)
        rec = dict(template, check_id=cid, staleness=None, trace_files=[name])
        (out / "records" / f"{cid}.json").write_text(json.dumps(rec), encoding="utf-8")
    return out
