"""The unmodified hubspot-api-client 12 against the sandbox: list, search, batch, custom objects."""

from __future__ import annotations

import re

import hubspot
import orjson
import pytest
import urllib3
from hubspot.crm.deals import PublicObjectSearchRequest
from hubspot.crm.objects import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
)
from hubspot.crm.objects.exceptions import ApiException

from sandbox import Sandbox
from tests.sandbox.helpers import HS_INSTANT, sample, shape_differences


def live(records: list[dict]) -> list[dict]:
    return [r for r in records if not r["archived"]]


def raw(sandbox: Sandbox, method: str, path: str, body: object = None) -> tuple[int, dict, dict]:
    """One request with urllib3, as the client sends it, for comparing bodies with the samples."""
    answer = urllib3.request(
        method,
        sandbox.hubspot_url + path,
        body=orjson.dumps(body) if body is not None else None,
        headers={
            "Authorization": f"Bearer {sandbox.hubspot_token}",
            "Content-Type": "application/json",
        },
    )
    return answer.status, orjson.loads(answer.data) if answer.data else {}, dict(answer.headers)


def test_get_page_lists_every_live_deal_by_id_with_associations(
    sandbox: Sandbox, hs: hubspot.Client
):
    """basic_api.get_page pages by id (after = next id, no paging on the last page) and gives each
    deal its partner company twice: primary and unlabeled."""
    expected = [r["id"] for r in live(sandbox.records("hubspot", "deals"))]
    seen, after, calls = [], None, 0
    api = hs.crm.deals.basic_api
    while True:
        page = api.get_page(
            limit=100, after=after, properties=["dealname", "amount"], associations=["companies"]
        )
        calls += 1
        seen.extend(page.results)
        if page.paging is None:
            break
        after = page.paging.next.after
    assert expected == [d.id for d in seen]
    assert calls == -(-len(expected) // 100)
    pair = [(a.id, a.type) for a in seen[0].associations["companies"].results]
    assert [(pair[0][0], "deal_to_company"), (pair[0][0], "deal_to_company_unlabeled")] == pair


def test_list_body_matches_the_reference(sandbox: Sandbox):
    """The list body has the reference shape: string properties, Z instants, paging with a link."""
    status, body, headers = raw(
        sandbox,
        "GET",
        "/crm/v3/objects/deals?limit=2&properties=amount,deal_currency_code&associations=companies",
    )
    reference = sample("hs-list-deals-page.json")
    assert (200, []) == (status, shape_differences(reference, body))
    assert all(isinstance(v, str | None) for d in body["results"] for v in d["properties"].values())
    assert re.fullmatch(HS_INSTANT, body["results"][0]["updatedAt"])
    assert body["paging"]["next"]["link"].endswith(f"after={body['paging']['next']['after']}")
    assert "190" == headers["X-HubSpot-RateLimit-Max"]


def test_archived_listing_returns_only_archived(sandbox: Sandbox, hs: hubspot.Client):
    """archived=True lists exactly the archived deals, each with archivedAt."""
    expected = [r["id"] for r in sandbox.records("hubspot", "deals") if r["archived"]]
    page = hs.crm.deals.basic_api.get_page(limit=100, archived=True)
    assert expected == [d.id for d in page.results]
    assert all(d.archived and d.archived_at for d in page.results)


def test_search_window_sorted_by_modified(sandbox: Sandbox, hs: hubspot.Client):
    """do_search with a GTE/LT window on hs_lastmodifieddate and one ascending sort returns the
    live deals in that window, oldest first, with total and an integer-offset after."""
    deals = live(sandbox.records("hubspot", "deals"))
    middle = sorted(d["updatedAt"] for d in deals)[len(deals) // 3]
    expected = sorted(
        ((d["updatedAt"], d["id"]) for d in deals if d["updatedAt"] >= middle), key=lambda t: t
    )
    request = PublicObjectSearchRequest(
        filter_groups=[
            {
                "filters": [
                    {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": middle}
                ]
            }
        ],
        sorts=[{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        properties=["dealname", "dealstage"],
        limit=50,
    )
    first = hs.crm.deals.search_api.do_search(public_object_search_request=request)
    assert (len(expected), "50") == (first.total, first.paging.next.after)
    assert [i for _, i in expected[:50]] == [d.id for d in first.results]


def test_search_body_matches_the_reference(sandbox: Sandbox):
    """The search body: total, results without associations, paging.next.after only (no link)."""
    body = {
        "limit": 3,
        "properties": ["amount", "dealname", "closedate"],
        "filterGroups": [{"filters": [{"propertyName": "amount", "operator": "HAS_PROPERTY"}]}],
    }
    status, answer, headers = raw(sandbox, "POST", "/crm/v3/objects/deals/search", body)
    assert (200, []) == (status, shape_differences(sample("hs-search-response-page.json"), answer))
    assert ({"after": "3"}, False) == (
        answer["paging"]["next"],
        "associations" in answer["results"][0],
    )
    assert "X-HubSpot-RateLimit-Max" not in headers


def test_search_operators_and_groups(sandbox: Sandbox, hs: hubspot.Client):
    """Filter groups OR together, filters AND: IN, NEQ, BETWEEN on numbers, NOT_HAS_PROPERTY."""
    deals = live(sandbox.records("hubspot", "deals"))

    def wanted(d: dict) -> bool:
        p = d["properties"]
        closed = p["dealstage"] in {"closedwon", "closedlost"} and p["deal_currency_code"] != "JPY"
        small = p["amount"] is not None and 1000 <= float(p["amount"]) <= 20000
        return closed or small or p["amount"] is None

    expected = sorted(d["id"] for d in deals if wanted(d))
    groups = [
        {"filters": [
            {"propertyName": "dealstage", "operator": "IN", "values": ["closedwon", "closedlost"]},
            {"propertyName": "deal_currency_code", "operator": "NEQ", "value": "JPY"},
        ]},
        {"filters": [
            {"propertyName": "amount", "operator": "BETWEEN", "value": "1000", "highValue": "2e4"},
        ]},
        {"filters": [{"propertyName": "amount", "operator": "NOT_HAS_PROPERTY"}]},
    ]  # fmt: skip
    found, after = [], None
    while True:
        request = {"filter_groups": groups, "limit": 200, "after": after}
        page = hs.crm.deals.search_api.do_search(
            public_object_search_request=PublicObjectSearchRequest(**request)
        )
        found.extend(d.id for d in page.results)
        if page.paging is None:
            break
        after = page.paging.next.after
    assert expected == sorted(found)


def test_search_refuses_paging_past_ten_thousand(sandbox: Sandbox, hs: hubspot.Client):
    """after=10000 is refused with 400 VALIDATION_ERROR (the cap holds even with a small limit)."""
    request = PublicObjectSearchRequest(limit=10, after="10000")
    with pytest.raises(hubspot.crm.deals.exceptions.ApiException) as caught:
        hs.crm.deals.search_api.do_search(public_object_search_request=request)
    assert (400, "VALIDATION_ERROR") == (
        caught.value.status,
        orjson.loads(caught.value.body)["category"],
    )


def test_batch_upsert_custom_object_by_unique_property(sandbox: Sandbox, hs: hubspot.Client):
    """batch_api.upsert on the progress object creates then updates by progress_key (new flags)."""
    batch = hs.crm.objects.batch_api
    kind = "p4242424_partner_plan_progress"

    def inputs(actual: str) -> BatchInputSimplePublicObjectBatchInputUpsert:
        return BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                {
                    "idProperty": "progress_key",
                    "id": key,
                    "properties": {"actual": actual, "metric": "revenue"},
                }
                for key in ("P-00001-rev", "P-00002-rev")
            ]
        )

    first = batch.upsert(kind, inputs("10"))
    second = batch.upsert(kind, inputs("20.5"))
    stored = sandbox.records("hubspot", "partner_plan_progress")
    assert ([True, True], [False, False]) == (
        [r.new for r in first.results],
        [r.new for r in second.results],
    )
    assert [("P-00001-rev", "20.5"), ("P-00002-rev", "20.5")] == [
        (r["properties"]["progress_key"], r["properties"]["actual"]) for r in stored
    ]


def test_batch_upsert_body_and_its_errors_match_the_references(sandbox: Sandbox):
    """Upsert answers the reference envelope; duplicate ids and a non-unique idProperty get 400."""
    path = "/crm/v3/objects/2-1003/batch/upsert"
    one = {"idProperty": "progress_key", "id": "k1", "properties": {"actual": "1"}}
    status, body, _ = raw(sandbox, "POST", path, {"inputs": [one]})
    duplicate = raw(sandbox, "POST", path, {"inputs": [one, one]})
    non_unique = raw(sandbox, "POST", path, {"inputs": [{**one, "idProperty": "hs_object_id"}]})
    assert (200, []) == (
        status,
        shape_differences(sample("hs-batch-upsert-response-200.json"), body),
    )
    assert (400, []) == (
        duplicate[0],
        shape_differences(sample("hs-error-400-duplicate-ids.json"), duplicate[1]),
    )
    assert "Duplicate IDs found in batch input: [k1]. IDs must be unique" == duplicate[1]["message"]
    assert (400, "VALIDATION_ERROR") == (non_unique[0], non_unique[1]["category"])
    assert "non-unique 2-1003 property hs_object_id" in non_unique[1]["message"]


def test_batch_update_with_an_unknown_id_answers_207(sandbox: Sandbox):
    """Batch update writes the known ids and reports the unknown one (207, OBJECT_NOT_FOUND)."""
    company = sandbox.records("hubspot", "companies")[0]["id"]
    inputs = [
        {"id": company, "properties": {"plan_status": "on_track"}},
        {"id": "999", "properties": {"plan_status": "x"}},
    ]
    status, body, _ = raw(
        sandbox, "POST", "/crm/v3/objects/companies/batch/update", {"inputs": inputs}
    )
    assert (207, []) == (
        status,
        shape_differences(sample("hs-batch-update-response-207-partial.json"), body),
    )
    assert ["999"] == body["errors"][0]["context"]["ids"]
    assert "on_track" == sandbox.records("hubspot", "companies")[0]["properties"]["plan_status"]


def test_custom_object_read_through_crm_objects(sandbox: Sandbox, hs: hubspot.Client):
    """crm.objects reads a custom object by its 2-… id and by its fully qualified name alike."""
    expected = [r["id"] for r in live(sandbox.records("hubspot", "deal_registrations"))][:5]
    by_id = hs.crm.objects.basic_api.get_page("2-1001", limit=5, properties=["status", "amount"])
    by_name = hs.crm.objects.basic_api.get_page("p4242424_deal_registrations", limit=5)
    read = hs.crm.objects.batch_api.read(
        "2-1001",
        BatchReadInputSimplePublicObjectId(
            inputs=[{"id": i} for i in expected], properties=["status"]
        ),
    )
    assert expected == [r.id for r in by_id.results] == [r.id for r in by_name.results]
    assert sorted(expected) == sorted(r.id for r in read.results)
    assert {"submitted", "approved", "rejected", "expired", "converted"} >= {
        r.properties["status"] for r in read.results
    }


def test_unknown_object_type_is_refused(hs: hubspot.Client):
    """An unknown object type answers 400 'Unable to infer object type from: …'."""
    with pytest.raises(ApiException) as caught:
        hs.crm.objects.basic_api.get_page("butterflies")
    assert (400, "Unable to infer object type from: butterflies") == (
        caught.value.status,
        orjson.loads(caught.value.body)["message"],
    )


def test_v4_association_batch_read(sandbox: Sandbox, hs: hubspot.Client):
    """v4 batch read gives each deal's company (Primary typeId 5 + 341); a deal without any is an
    error entry (207)."""
    deal = live(sandbox.records("hubspot", "deals"))[0]
    company = deal["associations"]["companies"][0]
    orphan = sandbox.insert("hubspot", "deals", [{"dealname": "No partner"}])[0]
    status, body, _ = raw(
        sandbox,
        "POST",
        "/crm/v4/associations/deals/companies/batch/read",
        {"inputs": [{"id": deal["id"]}, {"id": orphan}]},
    )
    assert (207, []) == (
        status,
        shape_differences(sample("hs-assoc-v4-batch-read-response-207.json"), body),
    )
    result = hs.crm.associations.v4.batch_api.get_page(
        "deals", "companies", {"inputs": [{"id": deal["id"]}]}
    )
    to = result.results[0].to[0]
    assert (company, [5, 341]) == (str(to.to_object_id), [t.type_id for t in to.association_types])


def test_properties_schemas_and_pipelines(sandbox: Sandbox, hs: hubspot.Client):
    """Properties list/create (201, then 409 for the same name), schemas and the deal pipeline."""
    names = [p.name for p in hs.crm.properties.core_api.get_all("companies").results]
    created = hs.crm.properties.core_api.create(
        "companies",
        {
            "name": "plan_gap",
            "label": "Plan gap",
            "type": "number",
            "fieldType": "number",
            "groupName": "companyinformation",
        },
    )
    with pytest.raises(hubspot.crm.properties.exceptions.ApiException) as again:
        hs.crm.properties.core_api.create(
            "companies",
            {
                "name": "plan_gap",
                "label": "x",
                "type": "number",
                "fieldType": "number",
                "groupName": "companyinformation",
            },
        )
    schemas = hs.crm.schemas.core_api.get_all().results
    stages = hs.crm.pipelines.pipelines_api.get_all("deals").results[0].stages
    assert {"partner_key", "plan_score", "plan_status", "plan_computed_at"} <= set(names)
    assert ("plan_gap", 409) == (created.name, again.value.status)
    assert {
        ("deal_registrations", "2-1001"),
        ("partner_trainings", "2-1002"),
        ("partner_plan_progress", "2-1003"),
        ("partner_plan", "2-1004"),
        ("partner_plan_section", "2-1005"),
        ("partner_plan_action", "2-1006"),
        ("partner_plan_investment", "2-1007"),
        ("partner_plan_target_account", "2-1008"),
        ("partner_funds", "2-1009"),
    } == {(s.name, s.object_type_id) for s in schemas}
    assert [
        "appointmentscheduled",
        "qualifiedtobuy",
        "presentationscheduled",
        "decisionmakerboughtin",
        "contractsent",
        "closedwon",
        "closedlost",
    ] == [s.id for s in stages]
    _, pipelines, _ = raw(sandbox, "GET", "/crm/v3/pipelines/deals")
    _, schema, _ = raw(sandbox, "GET", "/crm-object-schemas/v3/schemas/2-1003")
    assert [] == shape_differences(sample("hs-pipelines-deals.json"), pipelines)
    assert [] == shape_differences(sample("hs-schema-custom-object-excerpt.json"), schema)


def test_bad_token_is_refused(sandbox: Sandbox):
    """A wrong bearer token answers 401 INVALID_AUTHENTICATION."""
    client = hubspot.Client.create(access_token="wrong", host=sandbox.hubspot_url)
    with pytest.raises(hubspot.crm.deals.exceptions.UnauthorizedException) as caught:
        client.crm.deals.basic_api.get_page()
    assert "INVALID_AUTHENTICATION" == orjson.loads(caught.value.body)["category"]
