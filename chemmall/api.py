"""The one API exception handler: domain and model validation errors become 400/409; the
schema class that documents the error statuses every view can answer."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            body = {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
        else:
            body = {"detail": [str(m) for m in exc.messages]}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)


# Statuses any view may answer besides its own (found by the API fuzz run, tests/fuzz/):
# documented once here, so that no operation answers a status its schema does not name.
ERROR_400 = _("Bad input: `{field: [message]}` (or `{detail: message, code}`); also a "
              "filter value that is not one of its choices.")
ERROR_403 = _("Not signed in (send `Authorization: Token …`), or the caller's role may not "
              "do this.")
ERROR_404 = _("Not found, or not yours to see; for a list, a page past the last one.")


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema plus the generic error responses: 400 where there is input
    (a request body, filters, pagination), 403 where the view needs a signed-in caller, 404
    where the path names an object or the list is paginated. A view's own description of
    one of these statuses wins."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        has_body = self.method in ("POST", "PUT", "PATCH")
        has_filters = self.method == "GET" and bool(
            getattr(self.view, "filterset_class", None)
            or getattr(self.view, "filterset_fields", None))
        paginated = self._is_list_view() and self._get_paginator() is not None
        generic = {
            "400": has_body or has_filters or paginated,
            "403": not all(isinstance(p, AllowAny) for p in self.view.get_permissions()),
            "404": "{" in self.path or paginated,
        }
        descriptions = {"400": ERROR_400, "403": ERROR_403, "404": ERROR_404}
        for code, applies in generic.items():
            if applies and code not in responses:
                responses[code] = {"description": descriptions[code]}
        return responses


def enum_field(choices, component_name: str, *, blank_is_null: bool = False):
    """A ChoiceField of a TextChoices class that the schema names `component_name`: several
    apps have a "status" or a "kind", and without a name of their own the schema would merge
    or rename them. `blank_is_null`: an empty stored value is answered as null (an event
    without a status before it)."""

    class EnumField(serializers.ChoiceField):
        def __init__(self, **kwargs):
            super().__init__(choices=choices.choices, **kwargs)

        def to_representation(self, value):
            if blank_is_null and value in ("", None):
                return None
            return super().to_representation(value)

    EnumField.__name__ = EnumField.__qualname__ = f"{component_name}Field"
    return extend_schema_field({"type": "string", "enum": list(choices.values)},
                               component_name=component_name)(EnumField)


MAX_ID = 2**63 - 1  # ids are bigints: anything larger is not an id


def id_field(**kwargs) -> serializers.IntegerField:
    """An object id in a request body: a positive bigint (a larger number is a 400)."""
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def quantity_field(**kwargs) -> serializers.DecimalField:
    """A quantity as the models store it (14 digits, 3 decimals)."""
    return serializers.DecimalField(max_digits=14, decimal_places=3, **kwargs)


def money_field(**kwargs) -> serializers.DecimalField:
    """An amount in CNY as the models store it (14 digits, 2 decimals)."""
    return serializers.DecimalField(max_digits=14, decimal_places=2, **kwargs)
