"""A plan file's parts beyond targets: keys, kinds, attachments and the legacy status name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from plans.planfile import load_plans
from tests.plans.factories import catalogue


def _load(tmp_path: Path, plan: dict[str, Any]) -> tuple[Any, list[str]]:
    (tmp_path / "plans").mkdir(exist_ok=True)
    text = yaml.safe_dump({"version": 1, "plans": [plan]}, sort_keys=False)
    (tmp_path / "plans" / "p.yaml").write_text(text)
    plans, problems = load_plans(tmp_path, catalogue(), fiscal_year_start_month=1)
    return plans, [p.render().removeprefix(str(tmp_path / "plans" / "p.yaml")) for p in problems]


def _plan(**extra: Any) -> dict[str, Any]:
    return {"key": "K", "partner": "P-1", "period": "2027-Q1", **extra}


def test_parts_get_keys_and_kinds_from_their_names(tmp_path):
    """Sections, actions, lines and accounts are keyed by slugs; a section's kind is guessed."""
    plans, problems = _load(
        tmp_path,
        _plan(
            sections=[
                {
                    "name": "Joint Investment 2027",
                    "investments": [
                        {
                            "title": "Webinar series",
                            "amount": 100,
                            "currency": "USD",
                            "vendor_share": "60%",
                        }
                    ],
                },
                {
                    "name": "Action plan",
                    "action_items": [{"title": "Joint QBR!", "done": True}],
                    "target_accounts": ["Globex Corp."],
                },
            ]
        ),
    )
    sections = plans.plans[0].sections
    assert [] == problems
    assert [("joint-investment-2027", "joint_investment"), ("action-plan", "action_plan")] == [
        (s["key"], s["kind"]) for s in sections
    ]
    assert ("webinar-series", "60") == (
        sections[0]["investments"][0]["key"],
        sections[0]["investments"][0]["vendor_share"],
    )
    assert (("joint-qbr", "done"), "globex-corp") == (
        (sections[1]["action_items"][0]["key"], sections[1]["action_items"][0]["status"]),
        sections[1]["target_accounts"][0]["key"],
    )


def test_two_sections_with_one_key_and_a_missing_file_are_located(tmp_path):
    """Duplicate section keys and an attached file that does not exist, each at its line."""
    _, problems = _load(
        tmp_path,
        _plan(
            attachments=[{"title": "Signed", "path": "plans/files/nope.pdf"}],
            sections=[{"name": "Sales"}, {"name": "sales"}],
        ),
    )
    assert [
        ":11: plans[0].sections[1]: section key 'sales' is used twice in this plan; give one of "
        "the sections its own `key:` (or a different name)",
        f":8: plans[0].attachments[0].path: no file 'plans/files/nope.pdf' (paths are relative "
        f"to {tmp_path})",
    ] == problems


def test_proposed_is_read_as_shared_with_a_warning(tmp_path):
    """The old status name still loads, as `shared`, and says what to write instead."""
    plans, problems = _load(tmp_path, _plan(status="proposed"))
    assert "shared" == plans.plans[0].status
    assert [
        ":6: warning: plans[0].status: status 'proposed' is now called 'shared'; write "
        "status: shared"
    ] == problems


def test_a_changed_attachment_changes_the_plan_but_not_its_terms(tmp_path):
    """New bytes in an attached file: another definition hash, the same terms (no new version)."""
    files = tmp_path / "files"
    files.mkdir()
    (files / "a.txt").write_text("one")
    plan = _plan(attachments=[{"title": "A", "path": "files/a.txt"}])
    before, _ = _load(tmp_path, plan)
    (files / "a.txt").write_text("two")
    after, _ = _load(tmp_path, plan)
    first, second = before.plans[0], after.plans[0]
    assert first.definition_hash() != second.definition_hash()
    assert first.terms() == second.terms()
