"""Run by tests/rig/test_rules.py in a separate pytest, with the services pointed elsewhere."""


def test_needs_postgres(postgres_url: str) -> None:
    raise AssertionError("unreachable PostgreSQL should have stopped this test")


def test_needs_redis(redis_url: str) -> None:
    raise AssertionError("unreachable Redis should have stopped this test")
