"""Loading a variant file: what is accepted and the one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from asyncbound.checks.errors import UsageError
from asyncbound.checks.variant import load_variant, specs_for_variant

ROOT = Path(__file__).resolve().parents[2]


def test_example_variant_loads_and_gets_its_checks():
    v = load_variant(ROOT / "examples" / "variant_nesterov_hogwild.py")
    assert v.algorithm.name == "nesterov_hogwild"
    specs = specs_for_variant(v)
    assert {s.bound for s in specs if s.test == "bound"} == set(v.algorithm.bounds)
    # its rule is linear (Nesterov SGD): the exact oracle checks it too (issue 11)
    assert [s.bound for s in specs if s.test == "oracle"] == ["oracle/exact_moments"]
    from asyncbound.implementations.registry import ALGORITHMS

    assert ALGORITHMS["nesterov_hogwild"] is v.algorithm


def test_registering_instead_of_assigning(tmp_path):
    f = tmp_path / "reg.py"
    f.write_text("from asyncbound.implementations.registry import AlgorithmSpec, register\n"
                 "from asyncbound.implementations.rules import sgd\n"
                 "register(AlgorithmSpec('reg_variant', sgd, 'full', {'lr': 0.1}, ('reference',),"
                 " ('classic_delayed_sgd/nonconvex',)), replace=True)\n"
                 "STEPS = 200\nDELAY = 'constant:2'\n")
    v = load_variant(f)
    assert v.algorithm.name == "reg_variant" and v.steps == 200
    assert all(s.steps == 200 and s.delay == "constant:2" for s in specs_for_variant(v))


@pytest.mark.parametrize(("text", "message"), [
    ("X = 1\n", "defines no algorithm"),
    ("import nonexistent_module_xyz\n", "ModuleNotFoundError"),
    ("STEPS = 'many'\nfrom asyncbound.implementations.registry import AlgorithmSpec\nfrom asyncbound.implementations.rules import sgd\n"
     "ALGORITHM = AlgorithmSpec('s_bad', sgd, 'full', {'lr': 0.1}, ('reference',), ('classic_delayed_sgd/nonconvex',))\n",
     "STEPS must be"),
])
def test_bad_files_raise_usage_error(tmp_path, text, message):
    f = tmp_path / "v.py"
    f.write_text(text)
    with pytest.raises(UsageError, match=message) as e:
        load_variant(f)
    assert "\n" not in str(e.value)
