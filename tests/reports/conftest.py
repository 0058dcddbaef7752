"""Shared fixtures of the report tests: one realistic result directory per session."""

from __future__ import annotations

import shutil

import matplotlib
import pytest

from tests.reports.fixtures import build_result_dir

matplotlib.use("Agg", force=True)


@pytest.fixture(scope="session")
def result_dir_master(tmp_path_factory):
    return build_result_dir(tmp_path_factory.mktemp("reports") / "out")


@pytest.fixture
def result_dir(result_dir_master, tmp_path):
    """A private copy of the fixture result directory (tests may corrupt it)."""
    return shutil.copytree(result_dir_master, tmp_path / "out")


@pytest.fixture(scope="session")
def report_html(result_dir_master):
    from asyncbound import reports

    return reports.render(reports.load_records(result_dir_master), reports.load_run(result_dir_master))
