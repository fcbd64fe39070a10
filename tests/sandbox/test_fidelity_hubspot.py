"""Issue 15, HubSpot: what third-party extractors tripped on, each against the real API's rules.

Point 1: ``paging.next.link`` keeps the request's query (the link in list-deals-page.json
repeats ``limit``, ``properties`` and ``associations`` before ``after``). Point 2: every
portal's standard object types resolve (empty here), custom objects answer to ``p_name``,
``p{portal}_name`` and ``2-N`` and no longer to their bare name (HubSpot's 2025 breaking
change). Point 5: ``/crm/v3/schemas``, ``/crm/v3/owners`` and pipelines by id and stage.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import hubspot
import pytest
import requests
from hubspot.crm.objects.exceptions import ApiException

from sandbox import Sandbox
from tests.sandbox.helpers import sample, shape_differences

STANDARD = [
    "tickets", "products", "line_items", "quotes", "calls", "emails", "meetings", "notes",
    "tasks", "communications", "postal_mail", "leads",
]  # fmt: skip
CUSTOM_ALIASES = ["p_deal_registrations", "p4242424_deal_registrations", "2-1001"]


def _get(sb: Sandbox, url: str, **params: Any) -> requests.Response:
    """One plain ``requests`` GET, as an extractor that follows links makes it."""
    headers = {"Authorization": f"Bearer {sb.hubspot_token}"}
    return requests.get(url, params=params or None, headers=headers, timeout=10)


def _follow(sb: Sandbox, first: str, **params: Any) -> list[dict[str, Any]]:
    """Every result of a listing, following ``paging.next.link`` from the first page."""
    body = _get(sb, first, **params).json()
    results = list(body["results"])
    while "paging" in body:
        body = _get(sb, body["paging"]["next"]["link"]).json()
        results.extend(body["results"])
    return results


def test_following_list_links_keeps_the_properties_and_associations_asked_for(sandbox: Sandbox):
    """Following paging.next.link with plain requests: every page has the same properties."""
    url = f"{sandbox.hubspot_url}/crm/v3/objects/deals"
    deals = _follow(
        sandbox, url, limit=7, properties=["amount", "dealstage"], associations="companies"
    )
    live = [r["id"] for r in sandbox.records("hubspot", "deals") if not r["archived"]]
    assert live == [d["id"] for d in deals]
    shown = {tuple(sorted(d["properties"])) for d in deals}
    assert {("amount", "createdate", "dealstage", "hs_lastmodifieddate", "hs_object_id")} == shown
    assert len(live) == sum(1 for d in deals if d["associations"]["companies"]["results"])


def test_following_the_archived_listings_links_stays_in_the_archive(sandbox: Sandbox):
    """archived=true survives the link: page 2 on holds archived deals only, each once."""
    url = f"{sandbox.hubspot_url}/crm/v3/objects/deals"
    deals = _follow(sandbox, url, limit=2, archived="true")
    archived = [r["id"] for r in sandbox.records("hubspot", "deals") if r["archived"]]
    assert len(archived) > 4
    assert (archived, {True}) == ([d["id"] for d in deals], {d["archived"] for d in deals})


def test_the_link_repeats_the_query_then_after_as_the_reference_does(sandbox: Sandbox):
    """The link's query is the request's (limit, properties, associations) plus after, last."""
    reference = sample("hs-list-deals-page.json")["paging"]["next"]["link"]
    body = _get(
        sandbox,
        f"{sandbox.hubspot_url}/crm/v3/objects/deals",
        limit=1,
        properties="dealname",
        associations="companies",
    ).json()
    link = body["paging"]["next"]["link"]
    expected = [(k, v if k != "after" else "") for k, v in parse_qsl(urlsplit(reference).query)]
    actual = [(k, v if k != "after" else "") for k, v in parse_qsl(urlsplit(link).query)]
    assert expected == actual
    assert link.endswith(f"after={body['paging']['next']['after']}")


@pytest.mark.parametrize("object_type", STANDARD)
def test_get_page_of_a_standard_object_type_is_an_empty_page(hs: hubspot.Client, object_type):
    """basic_api.get_page on a standard type every portal has: an empty page, not a 400."""
    page = hs.crm.objects.basic_api.get_page(object_type, limit=10)
    assert ([], None) == (page.results, page.paging)


def test_standard_types_resolve_by_singular_and_type_id_and_in_associations(sandbox: Sandbox):
    """``ticket``, ``0-5`` and ``associations=tickets,calls`` resolve: 200, not 400."""
    base = f"{sandbox.hubspot_url}/crm/v3/objects"
    statuses = [
        _get(sandbox, f"{base}/ticket").status_code,
        _get(sandbox, f"{base}/0-5").status_code,
        _get(
            sandbox, f"{base}/deals", associations=["tickets", "calls", "p_deal_registrations"]
        ).status_code,
    ]
    assert [200, 200, 200] == statuses


def test_search_and_properties_of_tickets_answer_as_for_any_type(hs: hubspot.Client):
    """Tickets search finds nothing (total 0); their properties include the pipeline stage."""
    found = hs.crm.objects.search_api.do_search("tickets", {"limit": 10})
    props = {p.name: p for p in hs.crm.properties.core_api.get_all("tickets").results}
    stages = [o.value for o in props["hs_pipeline_stage"].options]
    assert (0, ["1", "2", "3", "4"]) == (found.total, stages)


@pytest.mark.parametrize("alias", CUSTOM_ALIASES)
def test_custom_objects_answer_to_their_qualified_names(
    sandbox: Sandbox, hs: hubspot.Client, alias
):
    """p_name, p{portal}_name and 2-N all list the deal registrations (in associations too)."""
    live = [r["id"] for r in sandbox.records("hubspot", "deal_registrations") if not r["archived"]]
    seen, after = [], None
    while True:
        page = hs.crm.objects.basic_api.get_page(alias, limit=100, after=after)
        seen.extend(r.id for r in page.results)
        if page.paging is None:
            break
        after = page.paging.next.after
    with_assoc = _get(
        sandbox, f"{sandbox.hubspot_url}/crm/v3/objects/deals", associations=alias
    ).status_code
    assert (live, 200) == (seen, with_assoc)


def test_a_custom_objects_bare_name_is_refused_as_hubspot_does(
    sandbox: Sandbox, hs: hubspot.Client
):
    """The bare name answers 400 "Unable to infer object type from" with the recorded shape."""
    with pytest.raises(ApiException) as raised:
        hs.crm.objects.basic_api.get_page("deal_registrations")
    body = _get(sandbox, f"{sandbox.hubspot_url}/crm/v3/objects/deal_registrations").json()
    reference = sample("hs-error-400-unknown-object-type.json")
    assert 400 == raised.value.status
    assert "Unable to infer object type from: deal_registrations" == body["message"]
    assert ([], set(reference)) == (shape_differences(reference, body), set(body))


def test_schemas_answer_under_both_paths(sandbox: Sandbox, hs: hubspot.Client):
    """/crm/v3/schemas (the guide's path) and the client's /crm-object-schemas/v3/schemas agree."""
    by_client = hs.crm.schemas.core_api.get_all()
    plain = _get(sandbox, f"{sandbox.hubspot_url}/crm/v3/schemas").json()
    one = _get(sandbox, f"{sandbox.hubspot_url}/crm/v3/schemas/p_deal_registrations").json()
    names = sorted(s.name for s in by_client.results)
    assert [
        "deal_registrations",
        "partner_funds",
        "partner_plan",
        "partner_plan_action",
        "partner_plan_investment",
        "partner_plan_progress",
        "partner_plan_section",
        "partner_plan_target_account",
        "partner_trainings",
    ] == names
    assert names == sorted(s["name"] for s in plain["results"])
    assert ("2-1001", []) == (
        one["objectTypeId"],
        shape_differences(sample("hs-schema-custom-object-excerpt.json"), one),
    )


def test_owners_are_listed_paged_and_read_by_id(sandbox: Sandbox, hs: hubspot.Client):
    """owners_api.get_page pages by after; get_by_id reads one; archived lists the former."""
    first = hs.crm.owners.owners_api.get_page(limit=3)
    rest = _get(sandbox, first.paging.next.link).json()
    one = hs.crm.owners.owners_api.get_by_id(first.results[0].id)
    gone = hs.crm.owners.owners_api.get_page(archived=True)
    assert (3, 1, None) == (len(first.results), len(rest["results"]), rest.get("paging"))
    assert (first.results[0].email, [True]) == (one.email, [o.archived for o in gone.results])


def test_pipelines_of_deals_and_tickets_by_type_id_and_stage(hs: hubspot.Client):
    """Deals and tickets have their default pipelines; one pipeline and one stage by id."""
    api, stages = hs.crm.pipelines.pipelines_api, hs.crm.pipelines.pipeline_stages_api
    tickets = api.get_all("tickets").results
    deals = api.get_by_id("deals", "default")
    closed = stages.get_by_id("tickets", "0", "4")
    all_deal_stages = stages.get_all("deals", "default").results
    assert (["0"], "default", 7) == ([p.id for p in tickets], deals.id, len(all_deal_stages))
    assert ("Closed", "CLOSED") == (closed.label, closed.metadata["ticketState"])
