import pytest

from accounts.models import Role
from tests.factories import StaffFactory


@pytest.fixture
def ccos(subsidiary):
    """Three CCOs of `subsidiary` (routing profiles appear on first routing)."""
    return [StaffFactory(organization=subsidiary, roles=[Role.CCO]) for _i in range(3)]


@pytest.fixture
def manager(subsidiary):
    return StaffFactory(organization=subsidiary, roles=[Role.SUBSIDIARY_MANAGER])
