"""Issue 16 item 5: the variant file's knobs (PROBLEM_OPTIONS, check --delay/--steps/--only) and
its reproducibility (sha256 and a copy of the file with the records)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from asyncbound.checks.cli import main
from asyncbound.checks.errors import UsageError
from asyncbound.checks.variant import apply_overrides, load_variant, specs_for_variant

ROOT = Path(__file__).resolve().parents[2]

HEAD = ("from asyncbound.implementations.registry import AlgorithmSpec\n"
        "from asyncbound.implementations.rules import sgd\n"
        "ALGORITHM = AlgorithmSpec('knob_variant', sgd, 'full', {'lr': 0.1}, ('reference',),"
        " ('classic_delayed_sgd/nonconvex',))\n")


def _variant(tmp_path, extra: str = "") -> Path:
    f = tmp_path / "knob_variant.py"
    f.write_text(HEAD + extra)
    return f


def test_problem_options_reach_every_check(tmp_path):
    v = load_variant(_variant(tmp_path, "PROBLEM_OPTIONS = {'sigma': 0.3, 'dim': 7}\n"))
    assert v.problem_options == {"sigma": 0.3, "dim": 7}
    specs = [s for s in specs_for_variant(v) if s.study is None]
    assert specs and all(s.problem_options["sigma"] == 0.3 and s.problem_options["dim"] == 7
                         for s in specs)


@pytest.mark.parametrize(("extra", "message"), [
    ("PROBLEM_OPTIONS = [1]\n", "PROBLEM_OPTIONS must be a dict"),
    ("PROBLEM_OPTIONS = {'no_such_knob': 1}\n", "PROBLEM_OPTIONS: TypeError"),
])
def test_bad_problem_options_are_one_line(tmp_path, extra, message):
    with pytest.raises(UsageError, match=message) as e:
        load_variant(_variant(tmp_path, extra))
    assert "\n" not in str(e.value)


def test_overrides_replace_the_files_delay_and_steps(tmp_path):
    v = load_variant(_variant(tmp_path, "DELAY = 'constant:2'\nSTEPS = 500\n"))
    apply_overrides(v, delay="uniform:3", steps=120)
    specs = [s for s in specs_for_variant(v) if s.study is None]
    assert all(s.delay == "uniform:3" and s.steps == 120 for s in specs)


@pytest.mark.parametrize("flags", [["--delay", "bogus:1"], ["--delay", " "], ["--steps", "3"],
                                   ["--only", "no-such-check"]])
def test_bad_check_flags_exit_2_and_write_nothing(tmp_path, capsys, flags):
    out = tmp_path / "o"
    assert main(["check", str(_variant(tmp_path)), "--out", str(out), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err
    assert not out.exists()


def test_check_only_steps_and_the_variant_record(tmp_path, capsys):
    f = _variant(tmp_path, "DELAY = 'constant:2'\n")
    out = tmp_path / "o"
    rc = main(["check", str(f), "--out", str(out), "--only", "lemma", "--steps", "60",
               "--delay", "constant:1"])
    assert rc in (0, 1)
    recs = [json.loads(p.read_text()) for p in sorted((out / "records").glob("*.json"))]
    assert recs and all("lemma" in r["check_id"] for r in recs)
    digest = hashlib.sha256(f.read_bytes()).hexdigest()
    assert all(r["variant"] == {"path": str(f), "sha256": digest} for r in recs)
    assert all(r["config"]["steps"] == 60 and r["config"]["delay"] == "constant:1" for r in recs)
    assert (out / "variants" / f.name).read_bytes() == f.read_bytes()


# -- theory list/show --with FILE ------------------------------------------------------------------

USER_EXAMPLE = ROOT / "examples" / "variant_user_bound.py"


def test_theory_list_with_file_shows_the_users_claim(capsys):
    assert main(["theory", "list", "--with", str(USER_EXAMPLE)]) == 0
    line = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("my_delayed_sgd/")]
    assert len(line) == 1 and "claimed" in line[0] and "the user's claim" in line[0]
    assert main(["theory", "list", "--json", "--with", str(USER_EXAMPLE)]) == 0
    rows = {r["key"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["my_delayed_sgd/nonconvex"]["claimed_in"] == str(USER_EXAMPLE)
    assert rows["my_delayed_sgd/nonconvex"]["provenance"] == "claimed"
    assert "claimed_in" not in rows["classic_delayed_sgd/nonconvex"]


def test_theory_show_with_file(capsys):
    assert main(["theory", "show", "my_delayed_sgd/nonconvex", "--no-derive",
                 "--with", str(USER_EXAMPLE)]) == 0
    head = capsys.readouterr().out.splitlines()[0]
    assert "provenance: claimed: the user's claim" in head


def test_theory_with_a_bad_file_exits_2(tmp_path, capsys):
    f = tmp_path / "broken_bounds.py"
    f.write_text("BOUNDS = 3\n")
    assert main(["theory", "list", "--with", str(f)]) == 2
    assert "BOUNDS must be a list" in capsys.readouterr().err


# -- asyncbound run VARIANT.py ---------------------------------------------------------------------

def test_run_a_variant_file_once(tmp_path, capsys):
    f = _variant(tmp_path, "PROBLEM_OPTIONS = {'dim': 6}\nDELAY = 'constant:2'\n")
    out = tmp_path / "o"
    assert main(["run", str(f), "--steps", "40", "--out", str(out)]) == 0
    assert "knob_variant on quadratic (d=6)" in capsys.readouterr().out
    meta = json.loads((out / "run.json").read_text())
    assert meta["algorithm"] == "knob_variant" and meta["delay"].startswith("constant:2")
    assert meta["variant"] == {"path": str(f), "sha256": hashlib.sha256(f.read_bytes()).hexdigest()}
    assert (out / "variants" / f.name).read_bytes() == f.read_bytes()


@pytest.mark.parametrize(("extra", "flags"), [
    ("", ["--backend", "nowhere"]),
    ("PROBLEM_OPTIONS = {'no_such_knob': 1}\n", []),
    ("DELAY = 'bogus:3'\n", []),
])
def test_run_a_bad_variant_exits_2_and_writes_nothing(tmp_path, capsys, extra, flags):
    out = tmp_path / "o"
    assert main(["run", str(_variant(tmp_path, extra)), "--steps", "40", "--out", str(out), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err
    assert not out.exists()


def test_run_a_missing_variant_file_exits_2(tmp_path, capsys):
    assert main(["run", str(tmp_path / "absent.py"), "--steps", "40", "--out", str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_verify_with_a_variant_keeps_its_hash_and_copy(tmp_path):
    f = _variant(tmp_path)
    out = tmp_path / "o"
    rc = main(["verify", "--with", str(f), "--only", "knob_variant--lemma", "--no-studies",
               "--out", str(out)])
    assert rc in (0, 1)
    recs = [json.loads(p.read_text()) for p in sorted((out / "records").glob("*.json"))]
    assert recs and all(r["algorithm"] == "knob_variant" for r in recs)
    assert all(r["variant"]["sha256"] == hashlib.sha256(f.read_bytes()).hexdigest() for r in recs)
    assert (out / "variants" / f.name).exists()
