"""The mapping layer: YAML mappings that turn raw CRM records into normalized activities.

Knows nothing of HTTP (records arrive as dicts) and nothing of SQL (activities leave as values).
"""
