import pytest

from accounts import selectors
from accounts.models import Role


@pytest.mark.django_db
def test_factories_make_scoped_users(buyer, company, cco, outsider_buyer):
    assert buyer.has_role(Role.BUYER)
    assert list(selectors.companies_visible_to(buyer)) == [company]
    assert company not in selectors.companies_visible_to(outsider_buyer)
    assert cco.is_staff and cco.has_role(Role.CCO)
