"""Plan and fund records for a sandbox that generated none: one of each kind the plan streams map.

The sandbox generates activities, not plans (a plan is partnerplan's to publish, or a channel
manager's to author) nor market development funds; a test that needs every shipped stream to
map something inserts these, for the first partner, in both CRMs.
"""

from __future__ import annotations

from sandbox import Sandbox


def seed_plan_records(sb: Sandbox) -> None:
    """A CRM-authored plan with a section, a target and a response; funds; in both CRMs."""
    account = next(a["Id"] for a in sb.records("salesforce", "Account") if a.get("Partner_Key__c"))
    [plan] = sb.insert(
        "salesforce",
        "Partner_Business_Plan__c",
        [
            {
                "Name": "Growth plan",
                "Partner_Account__c": account,
                "Shared_With__c": account,
                "Period__c": "2027-Q1",
                "Start_Date__c": "2027-01-01",
                "End_Date__c": "2027-03-31",
                "Status__c": "shared",
                "Version__c": 1,
                "Origin__c": "crm",
            }
        ],
    )
    [section] = sb.insert(
        "salesforce",
        "Partner_Plan_Section__c",
        [{"Name": "Pipeline", "Plan__c": plan, "Order__c": 1, "Kind__c": "sales_objectives"}],
    )
    sb.insert(
        "salesforce",
        "Partner_Plan_Progress__c",
        [{"Name": "Pipeline", "Plan__c": plan, "Section__c": section,
          "Metric__c": "pipeline_created", "Target__c": 100000, "CurrencyIsoCode": "USD"}],
    )  # fmt: skip
    sb.insert(
        "salesforce",
        "Partner_Plan_Response__c",
        [{"Plan__c": plan, "Response__c": "request_changes", "Comment__c": "Lower it",
          "Plan_Version__c": 1}],
    )  # fmt: skip
    [budget] = sb.insert(
        "salesforce",
        "PartnerMarketingBudget",
        [{"Title": "MDF", "Amount": 50000, "StartDate": "2027-01-01"}],
    )
    [allocation] = sb.insert(
        "salesforce",
        "PartnerFundAllocation",
        [{"Title": "Q1", "BudgetId": budget, "ChannelPartnerId": account, "Amount": 5000}],
    )
    [request] = sb.insert(
        "salesforce",
        "PartnerFundRequest",
        [{"Title": "Webinar", "AllocationId": allocation, "ChannelPartnerId": account,
          "RequestedAmount": 3000, "Amount": 2500, "Status": "Approved"}],
    )  # fmt: skip
    sb.insert(
        "salesforce",
        "PartnerFundClaim",
        [{"Title": "Webinar", "RequestId": request, "ChannelPartnerId": account,
          "Amount": 2400, "Status": "Submitted"}],
    )  # fmt: skip
    company = next(
        c["id"] for c in sb.records("hubspot", "companies") if c["properties"].get("partner_key")
    )
    [hs_plan] = sb.insert(
        "hubspot",
        "partner_plan",
        [{"plan_key": "HS-GROWTH-2027-Q1", "plan_name": "Growth plan", "period": "2027-Q1",
          "status": "shared", "version": "1", "origin": "crm", "partner_response": "accept",
          "partner_response_version": "1", "partner_responded_by": "pat@partner.example",
          "partner_responded_at": "2026-11-01T10:00:00Z"}],
    )  # fmt: skip
    [hs_target] = sb.insert(
        "hubspot",
        "partner_plan_progress",
        [{"progress_key": "HS-GROWTH-2027-Q1:pipeline", "metric": "pipeline_created",
          "target": "100000", "currency": "USD", "origin": "crm"}],
    )  # fmt: skip
    store, meta = sb.hs_store, sb.hs_store.kind
    store.link(meta("partner_plan", api=False), hs_plan, meta("companies"), company)
    store.link(meta("partner_plan_progress", api=False), hs_target, meta("partner_plan",
               api=False), hs_plan)  # fmt: skip
    sb.insert(
        "hubspot",
        "partner_funds",
        [
            {"fund_name": "Co-op", "record_type": "allocation", "amount": "4000",
             "currency": "USD", "fund_date": "2027-01-05", "partner_company_id": company},
            {"fund_name": "Co-op request", "record_type": "request", "status": "approved",
             "amount": "1500", "currency": "USD", "fund_date": "2027-01-20",
             "partner_company_id": company},
        ],
    )  # fmt: skip
