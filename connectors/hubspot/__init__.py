"""HubSpot: everything partnerplan knows about one CRM, in one folder."""
