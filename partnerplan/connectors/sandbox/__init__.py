"""partnerplan.connectors.sandbox."""
