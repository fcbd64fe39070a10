"""`partnerplan mappings test` and `partnerplan quarantine list/retry` as a user runs them."""

from __future__ import annotations

import json
import shutil

from plans.db import create_all, make_engine
from tests.mappings.conftest import ROOT, SAMPLES
from tests.mappings.test_validate import SETTINGS
from worker.cli import run


def _config(tmp_path, mappings_dir=ROOT / "config" / "mappings"):
    root = tmp_path / "config"
    shutil.copytree(mappings_dir, root / "mappings")
    (root / "settings.yaml").write_text(SETTINGS)
    return root


def _good_and_bad(tmp_path):
    records = json.loads((SAMPLES / "sf_deal_registrations.json").read_text())
    sample = tmp_path / "sample.json"
    sample.write_text(json.dumps({"totalSize": 2, "done": True, "records": records}))
    return sample


def test_mappings_test_prints_the_activity_and_the_failure_with_its_reason(tmp_path, capsys):
    """One good and one bad record: one activity row, one quarantined row with the reason."""
    root = _config(tmp_path)
    args = ["mappings", "test", "sf_deal_registrations", "--sample", str(_good_and_bad(tmp_path))]
    assert run([*args, "--config", str(root)]) == 1
    out = capsys.readouterr().out
    assert "a00000000000001AAA" in out
    assert "converted" in out
    assert "a00000000000002AAA" in out
    assert "'12,5' is not a number" in out
    assert "1 mapped, 1 quarantined" in out


def test_mappings_test_json_output(tmp_path, capsys):
    """`--format json` gives the activities and failures as data a script can read."""
    root = _config(tmp_path)
    sample = _good_and_bad(tmp_path)
    args = ["mappings", "test", "sf_deal_registrations", "--sample", str(sample), "-c", str(root)]
    assert run([*args, "--format", "json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert [a["record_id"] for a in payload["activities"]] == ["a00000000000001AAA"]
    assert payload["activities"][0]["amount"] == "120000"
    assert payload["quarantined"] == [
        {
            "record_id": "a00000000000002AAA",
            "field": "amount",
            "reason": "Amount__c: '12,5' is not a number; amounts use a dot for decimals and "
            "no thousands separators (e.g. 1234.5)",
        }
    ]


def test_mappings_test_unknown_stream_suggests_the_closest(tmp_path, capsys):
    """A mistyped stream name is exit 2 with a suggestion, not a traceback."""
    root = _config(tmp_path)
    sample = _good_and_bad(tmp_path)
    assert (
        run(["mappings", "test", "sf_opportunity", "--sample", str(sample), "-c", str(root)]) == 2
    )
    assert "did you mean 'sf_opportunities'?" in capsys.readouterr().err


def test_mappings_test_reports_a_sample_that_is_not_json(tmp_path, capsys):
    """A broken sample file is exit 2 naming the file and line."""
    root = _config(tmp_path)
    sample = tmp_path / "broken.json"
    sample.write_text('[\n{"Id": 1,}\n]')
    assert run(["mappings", "test", "sf_leads", "--sample", str(sample), "-c", str(root)]) == 2
    assert f"{sample}:2: not valid JSON" in capsys.readouterr().err


def test_quarantine_list_then_retry_after_fixing_the_mapping(tmp_path, capsys, monkeypatch):
    """Quarantined records are listed with their reason; after a fix, retry stores them."""
    from datetime import UTC, datetime

    from sqlmodel import Session

    from mappings.loader import load_mappings
    from plans.ingest import store_batch

    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    create_all(engine)
    root = _config(tmp_path)
    mapping = root / "mappings" / "salesforce.yaml"
    good = mapping.read_text()
    mapping.write_text(good.replace("Revoked: expired", "Revoked: revoked_typo"))
    broken, _ = load_mappings(root / "mappings")
    assert broken is None  # the typo is a validation error ...
    mapping.write_text(good.replace("Revoked: expired}", "}"))  # ... an unmapped value is not
    strict, _ = load_mappings(root / "mappings")
    stream = strict.stream("sf_certifications")
    records = json.loads((SAMPLES / "sf_certifications.json").read_text())
    with Session(engine) as session:
        store_batch(session, "salesforce", stream.name, stream.map_many(records), datetime.now(UTC))
        session.commit()
    assert run(["quarantine", "list", "--database-url", url, "-c", str(root)]) == 0
    listed = capsys.readouterr().out
    assert "a02000000000002AAA" in listed
    assert "'Revoked' is not in the map" in listed
    mapping.write_text(good)
    assert run(["quarantine", "retry", "--database-url", url, "-c", str(root)]) == 0
    assert "1 records mapped and stored, 0 still quarantined" in capsys.readouterr().out
    assert run(["quarantine", "list", "--database-url", url, "-c", str(root), "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_mappings_test_csv_lists_mapped_and_quarantined_records(tmp_path, capsys):
    """`--format csv`: one row per record, mapped or quarantined, with the reason."""
    import csv
    import io

    root = _config(tmp_path)
    sample = _good_and_bad(tmp_path)
    args = ["mappings", "test", "sf_deal_registrations", "--sample", str(sample), "-c", str(root)]
    assert run([*args, "--format", "csv"]) == 1
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [
        ("mapped", "a00000000000001AAA", False),
        ("quarantined", "a00000000000002AAA", True),
    ] == [(r["result"], r["record_id"], "'12,5' is not a number" in r["reason"]) for r in rows]


def test_quarantine_list_groups_records_by_reason_with_a_count(tmp_path, capsys):
    """Many records failing for one reason make one line with their count and examples."""
    import csv
    import io
    from datetime import UTC, datetime

    from sqlmodel import Session

    from plans.ingest import store_batch

    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    create_all(engine)
    root = _config(tmp_path)
    records = json.loads((SAMPLES / "sf_deal_registrations.json").read_text())
    bad = next(r for r in records if r["Id"] == "a00000000000002AAA")
    many = [{**bad, "Id": f"a0000000000{n:04d}AAA"} for n in range(40)]
    from mappings.loader import load_mappings

    mappings, _ = load_mappings(root / "mappings")
    stream = mappings.stream("sf_deal_registrations")
    with Session(engine) as session:
        store_batch(session, "salesforce", stream.name, stream.map_many(many), datetime.now(UTC))
        session.commit()
    base = ["quarantine", "list", "--database-url", url, "-c", str(root), "-f", "csv"]
    assert run(base) == 0
    grouped = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert run([*base, "--records"]) == 0
    each = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [("sf_deal_registrations", "40")] == [(g["stream"], g["records"]) for g in grouped]
    assert 40 == len(each)
