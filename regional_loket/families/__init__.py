"""Families: guardians, children, declarations for priority, consent, export and erasure."""

from .models import Child, Consent, Family, Guardian

__all__ = ["Child", "Consent", "Family", "Guardian"]
