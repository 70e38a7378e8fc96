import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import Role
from tests import factories


def pytest_configure(config):
    # The suite proves behaviour on PostgreSQL (locks, constraints, full-text search);
    # a stray DJANGO_SETTINGS_MODULE must not quietly run it on the embedded SQLite file.
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        raise pytest.UsageError(
            f"the tests need PostgreSQL, got {engine}: use chemmall.settings_test "
            "(make test) and DATABASE_URL=postgres://..."
        )


@pytest.fixture(autouse=True)
def _empty_cache():
    # The storefront caches its category tree for a minute: each test starts without it.
    cache.clear()


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def hq(db):
    return factories.HQFactory()


@pytest.fixture
def subsidiary(hq):
    return factories.SubsidiaryFactory(parent=hq)


@pytest.fixture
def other_subsidiary(hq):
    return factories.SubsidiaryFactory(parent=hq)


@pytest.fixture
def company(db):
    return factories.CompanyFactory()


@pytest.fixture
def buyer(company):
    return factories.BuyerFactory(company=company, is_company_admin=True)


@pytest.fixture
def outsider_buyer(db):
    """A buyer of another company: sees nothing of `company`."""
    return factories.BuyerFactory()


@pytest.fixture
def cco(subsidiary):
    return factories.StaffFactory(organization=subsidiary, roles=[Role.CCO])


@pytest.fixture
def subsidiary_manager(subsidiary):
    return factories.StaffFactory(organization=subsidiary, roles=[Role.SUBSIDIARY_MANAGER])


@pytest.fixture
def hq_manager(hq):
    return factories.StaffFactory(organization=hq, roles=[Role.HQ_MANAGER])


@pytest.fixture
def staff_by_role(subsidiary, hq):
    """One staff user per staff role, for "the admin loads for each role" tests."""
    return {
        Role.CCO: factories.StaffFactory(organization=subsidiary, roles=[Role.CCO]),
        Role.SUBSIDIARY_MANAGER: factories.StaffFactory(
            organization=subsidiary, roles=[Role.SUBSIDIARY_MANAGER]),
        Role.FINANCE: factories.StaffFactory(organization=subsidiary, roles=[Role.FINANCE]),
        Role.DEPOT_OPERATOR: factories.StaffFactory(
            organization=subsidiary, roles=[Role.DEPOT_OPERATOR]),
        Role.HQ_MANAGER: factories.StaffFactory(organization=hq, roles=[Role.HQ_MANAGER]),
    }
