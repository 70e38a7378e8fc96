"""API fuzzing: schemathesis against /api/schema/, in its WSGI mode (no server), as each role.

    make fuzz                                   # bounded: FUZZ_MAX_EXAMPLES=3 per operation/role
    FUZZ_MAX_EXAMPLES=100 make fuzz             # the full run (benchmarks/README.md, "Fuzzing")

Every operation of the schema, with generated parameters and bodies (valid and invalid ones),
called anonymously and with the token of a buyer, a CCO, a subsidiary manager, an HQ
manager, finance, a depot operator and a dealer of the demo data. Checks: no 5xx, the status code is
one the schema documents, the content type and the body match it.

Skipped unless CHEMMALL_FUZZ=1: it is a run of its own, not part of `make test`.
"""

import os

import pytest

if not os.environ.get("CHEMMALL_FUZZ"):
    pytest.skip("API fuzzing runs on its own: CHEMMALL_FUZZ=1 (make fuzz)",
                allow_module_level=True)

import schemathesis  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import User  # noqa: E402

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "3"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
# Demo users (accounts/demo.py) by role; None is the anonymous caller.
ROLES = {
    "anonymous": None,
    "buyer": "buyer@kshy.example",
    "cco": "cco@js-fine.example",
    "subsidiary_manager": "manager@js-fine.example",
    "hq_manager": "hq.manager@chemmall.example",
    "finance": "finance@js-fine.example",
    "depot_operator": "depot@js-fine.example",
    "dealer": "dealer@suxin.example",
}

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
# Wrong passwords would lock the demo logins (django-axes) for the rest of the run; the
# token endpoint has its own tests (tests/accounts/test_api.py).
schema = schema.exclude(path="/api/v1/auth/token/", method="POST")


@pytest.fixture
def auth_headers(request, db):
    email = ROLES[request.param]
    if email is None:
        return {}
    token, _created = Token.objects.get_or_create(user=User.objects.get(email=email))
    return {"Authorization": f"Token {token.key}"}


@pytest.mark.parametrize("auth_headers", list(ROLES), indirect=True)
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_schema(case, auth_headers):
    case.call_and_validate(headers=auth_headers, checks=CHECKS)
