"""The conjecture route of the power script: catalogue loading and the correct algorithms."""

from __future__ import annotations

from pathlib import Path

import pytest
from asyncbound.checks import power_conjecture as pc

CATALOGUE = Path(__file__).with_name("planted.py")


def test_catalogue_loads_the_planted_conjectures():
    bugs = pc.load_catalogue(CATALOGUE)
    assert {"stale_view", "drop_momentum", "overstep"} <= set(bugs) and len(bugs) >= 10
    assert all(getattr(b, "implements", None) is None for b in bugs.values())  # conjectures
    correct = pc.correct_algorithms(bugs)
    assert {"hogwild_sgd", "passm", "apam"} <= set(correct) and len(correct) == len(set(correct))


def test_a_specs_only_catalogue_uses_the_search_baseline(tmp_path):
    f = tmp_path / "cat.py"
    f.write_text(CATALOGUE.read_text().replace("CATALOGUE:", "_NOT_CATALOGUE:"))
    bugs = pc.load_catalogue(f)
    assert set(bugs) == {"stale_view", "drop_momentum", "overstep"}
    assert pc.correct_algorithms(bugs) == ["hogwild_sgd", "passm"]


def test_missing_or_foreign_catalogue_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        pc.load_catalogue(tmp_path / "nope.py")
    f = tmp_path / "x.py"
    f.write_text("A = 1\n")
    with pytest.raises(ValueError, match="not a planted-bug catalogue"):
        pc.load_catalogue(f)


def test_bad_arguments_exit_2(capsys):
    assert pc.main(["--batches", "0"]) == 2
    assert "error:" in capsys.readouterr().err


def test_bug_is_registered_only_while_its_checks_run():
    from asyncbound.implementations.registry import ALGORITHMS

    bug = pc.load_catalogue(CATALOGUE)["overstep"]
    with pc._registered([bug]):
        assert ALGORITHMS[bug.name] is bug
    assert bug.name not in ALGORITHMS


def test_a_batch_is_classified_by_what_caught_it():
    row = [("a--b", "PASS", "", "conclusion"), ("a--lemma", "PASS", "", "lemma")]
    assert pc.classify(row) == "missed"
    assert pc.classify([("a--b", "FAIL", "", "conclusion"), row[1]]) == "caught_by_conclusion"
    assert pc.classify([row[0], ("a--lemma", "FAIL", "", "lemma")]) == "caught_by_lemma"
    na = [("a--b", "NOT_APPLICABLE", "", "conclusion"), ("a--c", "NOT_APPLICABLE", "", "conclusion"),
          row[1]]
    assert pc.classify(na) == "untestable"
    assert pc.classify([]) == "missed"
    assert pc.classify([("a--b", pc.FLAGGED, "", "conclusion"), row[1]]) == "flagged_divergence"
