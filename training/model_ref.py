"""A ``--model`` value as every command takes it: a field mapper artifact path, or an MLflow model URI
(``models:/NAME@alias``, ``models:/NAME/3``, ``runs:/…``) that names one in a tracking store.

Why apart from registry.py: telling the two apart must not import MLflow (slow, and the default
extraction path never needs it), so registry.py is imported only once a URI asks for it.
"""

from __future__ import annotations


def is_model_uri(ref: str) -> bool:
    """Does ``ref`` name a logged model (a URI) rather than an artifact path?"""
    return ref.startswith("models:/") or "://" in ref


def field_mapper_path(ref: str | None, tracking: str | None = None) -> str | None:
    """The local field mapper artifact ``ref`` names: a path as given, a URI downloaded from the tracking
    store ``tracking`` ($MLFLOW_TRACKING_URI, else sqlite:///mlflow.db, when None); None, the shipped
    one, stays None."""
    if ref is None or not is_model_uri(ref):
        return ref
    from nianbao.training.registry import registered_field_mapper

    return registered_field_mapper(ref, tracking)
