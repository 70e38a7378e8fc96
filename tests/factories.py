"""factory_boy factories shared by every app's tests."""

import factory
from stdnum.cn import uscc as stdnum_uscc

from accounts import services as account_services
from accounts.models import (
    Company,
    Depot,
    Membership,
    Organization,
    Region,
    Role,
    User,
    WorkingCalendar,
)

TEST_PASSWORD = "test-pass-8421-x"


def valid_uscc(n: int) -> str:
    body = f"9132050{n:010d}"[:17]
    return body + stdnum_uscc.calc_check_digit(body)


class WorkingCalendarFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkingCalendar
        django_get_or_create = ["name"]

    name = "Test calendar"


class HQFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ["code"]

    code = "hq"
    name_zh = "测试集团"
    name_en = "Test Group"
    kind = Organization.Kind.HQ
    calendar = factory.SubFactory(WorkingCalendarFactory)


class SubsidiaryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    code = factory.Sequence(lambda n: f"sub-{n}")
    name_zh = factory.Sequence(lambda n: f"测试子公司{n}")
    name_en = factory.Sequence(lambda n: f"Test Subsidiary {n}")
    kind = Organization.Kind.SUBSIDIARY
    parent = factory.SubFactory(HQFactory)
    calendar = factory.SelfAttribute("parent.calendar")


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"测试客户{n}有限公司")
    uscc = factory.Sequence(valid_uscc)
    province = factory.LazyFunction(lambda: Region.objects.get(code="320000"))
    city = factory.LazyFunction(lambda: Region.objects.get(code="320500"))


def _roles_hook(*, default):
    """Post-generation roles with a default per factory; `roles=[...]` overrides it."""

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        self.save()
        if create:
            wanted = default if extracted is None else extracted
            account_services.user_set_roles(user=self, roles=wanted)

    return roles


class UserFactory(factory.django.DjangoModelFactory):
    """A user with roles: `UserFactory(roles=[Role.CCO], organization=sub)`."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Sequence(lambda n: f"User {n}")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    roles = _roles_hook(default=())


class BuyerFactory(UserFactory):
    """A buyer with a membership: `BuyerFactory(company=c, is_company_admin=True)`;
    a new company when none is given."""

    roles = _roles_hook(default=[Role.BUYER])

    @classmethod
    def _create(cls, model_class, *args, company=None, is_company_admin=False, **kwargs):
        user = super()._create(model_class, *args, **kwargs)
        user.save()
        Membership.objects.create(user=user, company=company or CompanyFactory(),
                                  is_admin=is_company_admin)
        return user


class StaffFactory(UserFactory):
    organization = factory.SubFactory(SubsidiaryFactory)
    roles = _roles_hook(default=[Role.CCO])


class DepotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Depot

    code = factory.Sequence(lambda n: f"D-{n:03d}")
    name_zh = factory.Sequence(lambda n: f"测试仓库{n}")
    name_en = factory.Sequence(lambda n: f"Test depot {n}")
    organization = factory.SubFactory(SubsidiaryFactory)
    region = factory.LazyFunction(lambda: Region.objects.get(code="320500"))
    address = "苏州工业园区 1 号"
