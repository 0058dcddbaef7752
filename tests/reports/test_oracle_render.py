"""Records of check kind ``oracle`` render: the exact curve against the measured band."""

from __future__ import annotations

from asyncbound import reports


def _oracle_record(first_outside=None, verdict="PASS") -> dict:
    upd = [1, 2, 4, 8, 16, 32, 64, 128]
    exact = [0.5 / u ** 0.5 for u in upd]
    band = {"update": upd, "mean": [e * 1.01 for e in exact], "lo": [e * 0.9 for e in exact],
            "hi": [e * 1.1 for e in exact], "exact": exact, "max_abs_z": 1.2}
    return {
        "schema": "asyncbound.record/1", "check_id": f"hogwild_sgd--oracle-exact_moments--reference--{verdict}",
        "verdict": verdict, "reason": "one sentence", "algorithm": "hogwild_sgd", "backend": "reference",
        "problem": "quadratic", "workers": 4, "test": "oracle",
        "bound": {"key": "oracle/exact_moments", "kind": "TIGHT", "provenance": "derived",
                  "metric": "E f(x_k) - f*"},
        "measured": {"value": band["mean"][-1], "ci_low": band["lo"][-1], "ci_high": band["hi"][-1],
                     "n_seeds": 256, "alpha": 2e-4},
        "bound_value": exact[-1], "config": {"steps": 128},
        "series": {"iteration": upd, "mean": band["mean"], "lo": band["lo"], "hi": band["hi"],
                   "bound": exact, "label": "f(x_k) - f*"},
        "oracle": {"form": "law", "cost_s": 0.05, "run_cost_s": 0.3,
                   "bands": {"loss": band, "grad_norm_sq": band}, "first_outside": first_outside},
    }


def test_oracle_records_render_their_exact_curve_against_the_band():
    fail = _oracle_record({"metric": "loss", "after_updates": 4, "exact": 0.25, "lo": 0.3,
                           "hi": 0.4, "measured": 0.35, "z": -6.0}, verdict="FAIL")
    html = reports.render([_oracle_record(), fail])
    assert html.count("Exact expectation (dashed)") == 2
    assert "first point outside" in html and "exact expectation" in html


def test_an_oracle_record_without_bands_still_renders():
    rec = _oracle_record()
    rec["oracle"] = {"form": "law", "bands": None}
    rec["verdict"] = "NOT_APPLICABLE"
    html = reports.render([rec])
    assert rec["check_id"] in html
