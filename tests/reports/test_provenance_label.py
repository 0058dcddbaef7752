"""A user's bound (provenance ``claimed``) is labelled as the user's claim in the report, and the
project's labels keep their own words."""

from __future__ import annotations

import copy

from asyncbound.reports.tables import PROVENANCE_TEXT

from asyncbound import reports
from tests.reports.fixtures import records


def _claimed(rec: dict) -> dict:
    rec = copy.deepcopy(rec)
    rec["check_id"] = "mine--claimed"
    rec["bound"].update(key="my_delayed_sgd/nonconvex", paper="my_delayed_sgd", provenance="claimed")
    return rec


def test_claimed_bound_is_labelled_the_users_claim_in_index_and_section():
    base = records()[0]
    html = reports.render([base, _claimed(base)])
    table = html[html.index('id="verdict-table"'):html.index("</table>", html.index('id="verdict-table"'))]
    assert table.count('class="prov prov-claimed"') == 1 and "claimed: the user&#39;s claim" in table
    section = html[html.index('id="' + reports.records.anchor("mine--claimed")):]
    assert "claimed: the user&#39;s claim" in section and 'class="claim-note"' in section
    # the project's own provenance is never worded as a claim, and has no claim note
    other = html[html.index('id="' + reports.records.anchor(base["check_id"])):
                 html.index('id="' + reports.records.anchor("mine--claimed"))]
    assert "claim-note" not in other and f">{base['bound']['provenance']}<" in other


def test_every_schema_provenance_has_report_words():
    assert set(PROVENANCE_TEXT) == set(reports.records.PROVENANCES)
