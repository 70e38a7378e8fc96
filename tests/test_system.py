"""The process around the apps: health and readiness probes, robots.txt, demo data."""

import io

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group
from django.core.management import call_command

from accounts import demo
from accounts.models import (
    CalendarDay,
    Company,
    Depot,
    Membership,
    Organization,
    Role,
    User,
    WorkingCalendar,
)
from chemmall.celery import app as celery_app

SEEDED = [User, Company, Organization, Depot, CalendarDay, Membership, WorkingCalendar]


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_with_database_and_broker_up(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": True, "broker": True}


@pytest.mark.django_db
def test_readyz_reports_a_broker_that_does_not_answer(client, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": True, "broker": False}


def test_robots_txt(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "Disallow: /admin/" in response.text


def _counts():
    return {model.__name__: model.objects.count() for model in SEEDED}


@pytest.mark.django_db
def test_seed_demo_is_idempotent():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    first = _counts()
    assert "demo data: accounts ok" in out.getvalue()
    assert demo.DEMO_PASSWORD in out.getvalue()
    assert first["Organization"] == 1 + len(demo.SUBSIDIARIES)
    assert first["Depot"] == len(demo.DEPOTS)
    assert first["Company"] == len(demo.COMPANIES)
    assert first["User"] == 1 + len(demo.USERS)
    assert first["CalendarDay"] > 0

    call_command("seed_demo", "--quiet-logins", stdout=io.StringIO())
    assert _counts() == first


@pytest.mark.django_db
def test_seed_demo_logins_work():
    call_command("seed_demo", "--quiet-logins", stdout=io.StringIO())
    for _role, email in demo.logins():
        user = authenticate(email=email, password=demo.DEMO_PASSWORD)
        assert user is not None, email
    cco = User.objects.get(email="cco@js-fine.example")
    assert cco.roles == {Role.CCO}
    assert cco.is_staff
    assert cco.organization.code == "js-fine"
    buyer = User.objects.get(email="buyer@kshy.example")
    assert buyer.membership.is_admin
    assert not buyer.is_staff
    operator = User.objects.get(email="depot@js-fine.example")
    assert list(operator.operated_depots.values_list("code", flat=True)) == ["SZ-01"]


@pytest.mark.django_db
def test_seed_demo_companies_are_valid():
    call_command("seed_demo", "--quiet-logins", stdout=io.StringIO())
    for company in Company.objects.all():
        company.full_clean()  # valid codes, cities inside their provinces
        assert set(company.served_by.values_list("code", flat=True)) == {"js-fine", "sd-petro"}


@pytest.mark.django_db
def test_role_groups_exist_after_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.values)
