"""The test rig, for every test under tests/: see tests/fixtures/."""

pytest_plugins = [
    "tests.fixtures.common",
    "tests.fixtures.server",
    "tests.fixtures.browser",
    "tests.fixtures.xvfb",
    "tests.fixtures.customer_window",
    "tests.fixtures.mail",
    "tests.fixtures.databases",
    "tests.fixtures.support_client",
    "tests.fixtures.run_order",
]
