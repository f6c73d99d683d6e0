"""Several nodes behind HAProxy on PostgreSQL and Redis (tests/fixtures/cluster.py)."""

from tests.fixtures.cluster import cluster, cluster_factory

__all__ = ["cluster", "cluster_factory"]
