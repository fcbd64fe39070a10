"""Field expressions: paths, constants, first_of, when, transforms, maps, defaults and types."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from mappings.activity import Activity, Rejection
from mappings.coerce import to_date, to_datetime, to_decimal, to_int
from mappings.loader import load_mappings
from partnerplan.errors import RecordError


def _stream(tmp_path, body: str, source: str = "hubspot", obj: str = "p4242424_custom"):
    """One stream of a custom object compiled from YAML; ``body`` sits under the entry."""
    text = (
        f"source: {source}\nstreams:\n  - name: s\n    object: {obj}\n    kind: opportunity\n"
        + body
    )
    (tmp_path / "m.yaml").write_text(text)
    mappings, problems = load_mappings(tmp_path)
    assert mappings is not None, [p.render() for p in problems]
    return mappings.stream("s")


def _deal(**properties):
    return {"id": "1", "properties": properties, "updatedAt": "2026-04-02T11:20:31.907Z"}


def test_decimal_keeps_the_digits_the_crm_sent():
    """Floats from JSON become the Decimal of their shortest repr, never binary noise."""
    assert Decimal("125000.1") == to_decimal(125000.1)
    assert Decimal("0.1") == to_decimal("0.1")


@pytest.mark.parametrize("bad", ["12,5", "1.234,00", "NaN", "abc", True])
def test_decimal_refuses_what_is_not_an_amount(bad):
    """A comma decimal, thousands separators, NaN, text or a boolean is a record error."""
    with pytest.raises(RecordError):
        to_decimal(bad)


def test_datetimes_are_aware_utc_from_every_crm_format():
    """Salesforce +0000, HubSpot Z, epoch milliseconds and a bare date all give aware UTC."""
    expected = datetime(2026, 4, 2, 11, 20, 31, tzinfo=UTC)
    assert expected == to_datetime("2026-04-02T11:20:31.000+0000")
    assert expected == to_datetime("2026-04-02T13:20:31+02:00")
    assert expected == to_datetime("1775128831000")
    assert datetime(2026, 4, 2, tzinfo=UTC) == to_datetime("2026-04-02")


def test_a_timestamp_without_timezone_is_refused():
    """A naive timestamp is ambiguous, so it is quarantined rather than guessed."""
    with pytest.raises(RecordError, match="no timezone"):
        to_datetime("2026-04-02T11:20:31")


def test_dates_stay_dates_and_datetimes_give_their_utc_date():
    """A date field stays the date; a datetime gives its UTC date."""
    assert date(2026, 3, 31) == to_date("2026-03-31")
    assert date(2026, 4, 1) == to_date("2026-03-31T23:30:00-01:00")
    with pytest.raises(RecordError, match="expected YYYY-MM-DD"):
        to_date("31/03/2026")


def test_int_refuses_fractions():
    """Counts are whole numbers: 42.0 is 42, 4.5 is a record error."""
    assert to_int(42.0) == 42
    with pytest.raises(RecordError):
        to_int("4.5")


def test_transforms_then_map_then_default(tmp_path):
    """Steps run in order: transform (strip, lower), map with fallback, then default for null."""
    stream = _stream(
        tmp_path,
        "    fields:\n      occurred_on: properties.closedate\n"
        "    attributes:\n"
        "      tier:\n"
        "        field: properties.tier\n"
        "        transform: [strip, lower]\n"
        '        map: {gold: top, "*": other}\n'
        "        default: none\n",
    )
    tiers = [
        stream.map(_deal(tier=value, closedate="2026-01-01")).attributes["tier"]
        for value in (" GOLD ", "silver", None, "")
    ]
    assert tiers == ["top", "other", "none", "none"]


def test_split_and_index_read_a_multi_select_value(tmp_path):
    """`split` turns a multi-select into a list; `index` picks one element."""
    stream = _stream(
        tmp_path,
        "    attributes:\n"
        '      lines: {field: properties.lines, transform: [{split: ";"}]}\n'
        '      first: {field: properties.lines, transform: [{split: ";"}, {index: 0}]}\n',
    )
    activity = stream.map(_deal(lines="Platform; Security;"))
    assert activity.attributes == {"lines": ["Platform", "Security"], "first": "Platform"}


def test_when_takes_the_first_branch_that_holds(tmp_path):
    """`when` branches are tried in order; a last branch without `if` is the otherwise."""
    stream = _stream(
        tmp_path,
        "    fields:\n"
        "      status:\n"
        "        when:\n"
        "          - if: {field: properties.hs_is_closed_won, eq: true}\n"
        "            value: won\n"
        "          - if: [{field: properties.hs_is_closed, eq: true}, "
        "{field: properties.amount, gt: 0}]\n"
        "            value: lost\n"
        "          - value: open\n",
    )
    cases = [
        ({"hs_is_closed_won": "true", "hs_is_closed": "true"}, "won"),
        ({"hs_is_closed": "true", "amount": "10"}, "lost"),
        ({"hs_is_closed": "true", "amount": "0"}, "open"),
        ({}, "open"),
    ]
    assert [s for _, s in cases] == [stream.map(_deal(**p)).status for p, _ in cases]


def test_first_of_takes_the_first_non_null(tmp_path):
    """`first_of` falls through null and empty values to the next expression."""
    stream = _stream(
        tmp_path,
        "    fields:\n      occurred_on: {first_of: [properties.closedate, updatedAt]}\n",
    )
    assert date(2026, 3, 1) == stream.map(_deal(closedate="2026-03-01")).occurred_on
    assert date(2026, 4, 2) == stream.map(_deal(closedate="")).occurred_on


def test_const_and_required(tmp_path):
    """A constant is the same for every record; a required null quarantines the record."""
    stream = _stream(
        tmp_path,
        "    fields:\n      currency: {const: EUR}\n"
        "      occurred_on: {field: properties.closedate, required: true}\n",
    )
    assert stream.map(_deal(closedate="2026-01-01")).currency == "EUR"
    rejection = stream.map(_deal())
    assert isinstance(rejection, Rejection)
    assert (
        rejection.field,
        rejection.reason,
    ) == ("occurred_on", "properties.closedate: required value is missing or empty")


def test_a_value_missing_from_a_map_without_fallback_is_quarantined(tmp_path):
    """An unmapped picklist value is never passed through silently."""
    stream = _stream(
        tmp_path,
        "    fields:\n      status: {field: properties.dealstage, map: {closedwon: won}}\n",
    )
    rejection = stream.map(_deal(dealstage="contractsent"))
    assert isinstance(rejection, Rejection)
    assert rejection.reason.startswith("properties.dealstage: value 'contractsent' is not in")


def test_a_deleted_record_is_stored_even_when_its_fields_do_not_map(tmp_path):
    """A deletion must reach the store: bad fields of a deleted record read as null."""
    stream = _stream(tmp_path, "    fields:\n      amount: properties.amount\n")
    activity = stream.map(_deal(amount="12,5"), deleted=True)
    assert isinstance(activity, Activity)
    assert (activity.deleted, activity.amount) == (True, None)


def test_content_hash_ignores_the_modification_time_and_amount_scale(tmp_path):
    """Equal content hashes equal; a touched record or 100 vs 100.00 is no change."""
    stream = _stream(tmp_path, "    fields:\n      amount: properties.amount\n")
    first = stream.map(_deal(amount="100"))
    touched = stream.map({**_deal(amount="100.00"), "updatedAt": "2026-05-01T00:00:00Z"})
    changed = stream.map(_deal(amount="101"))
    assert first.content_hash == touched.content_hash
    assert first.content_hash != changed.content_hash


def test_a_record_without_an_id_is_quarantined_not_dropped(tmp_path):
    """No id: the record still reaches quarantine, under a stable synthetic id."""
    stream = _stream(tmp_path, "")
    first = stream.map({"properties": {"amount": "1"}})
    second = stream.map({"properties": {"amount": "1"}})
    assert isinstance(first, Rejection)
    assert first.record_id == second.record_id
    assert first.record_id.startswith("missing-id:")


def test_currency_must_be_an_iso_code(tmp_path):
    """A currency that is not three letters would not fit the store: it is quarantined."""
    stream = _stream(tmp_path, "    fields:\n      currency: properties.deal_currency_code\n")
    assert stream.map(_deal(deal_currency_code="eur")).currency == "EUR"
    rejection = stream.map(_deal(deal_currency_code="Euro"))
    assert isinstance(rejection, Rejection)
    assert rejection.field == "currency"


def test_salesforce_relationship_paths_read_nested_records(tmp_path):
    """`PartnerAccount.Partner_Key__c` reads the nested relationship object SOQL returns."""
    stream = _stream(
        tmp_path,
        "    attributes: {partner_key: PartnerAccount.Partner_Key__c}\n",
        source="salesforce",
        obj="Opportunity",
    )
    raw = {"Id": "006A", "PartnerAccount": {"attributes": {}, "Partner_Key__c": "P-00001"}}
    assert stream.map(raw).attributes == {"partner_key": "P-00001"}
    assert stream.map({"Id": "006B", "PartnerAccount": None}).attributes == {"partner_key": None}
    assert (stream.spec().fields) == (
        "Id",
        "SystemModstamp",
        "IsDeleted",
        "PartnerAccount.Partner_Key__c",
    )
