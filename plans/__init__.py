"""The domain: partners, activities, plans, targets, the metric catalogue and the progress engine.

Owns the store (SQLModel); knows nothing of Dramatiq or HTTP.
"""
