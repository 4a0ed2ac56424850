"""Sample warehouse generators: synthetic source tables for development and tests."""

from flatexport.seed.clickstream import (
    default_days,
    default_orgs,
    default_sessions,
    generate_clickstream,
    seed_warehouse,
)

__all__ = ["default_days", "default_orgs", "default_sessions", "generate_clickstream", "seed_warehouse"]
