"""Talking to CRMs: pulling changed records page by page, and writing progress back.

Knows HTTP, authentication, pagination, retries and rate limits; knows nothing of SQL.
"""
