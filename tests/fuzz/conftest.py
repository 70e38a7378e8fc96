"""The fuzz run's data: `seed_demo` once per session (a subsidiary, products with prices and
stock, buyer companies, inquiries, quotes, orders), so the operations have objects to hit.

Only the fuzz module uses this (it runs with CHEMMALL_FUZZ=1, `make fuzz`); the data lives in
the test database of that run and goes with it.
"""

import pytest
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("seed_demo", "--quiet-logins", verbosity=0)


@pytest.fixture(autouse=True)
def keep_test_connection():
    """The WSGI app closes the database connection after each request (CONN_MAX_AGE=0),
    which would lose the test's transaction; Django's test client unhooks the same signal."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
