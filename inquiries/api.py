"""/api/v1/ routes of the inquiries app: inquiries (requests for quotation), their messages and
quotes.

Guests may do two things only: send an inquiry (`POST /inquiries/`, whose answer carries their
private link, once) and read it by that link (`GET /inquiries/track/{token}/`). Everything else
needs a signed-in buyer or staff user, and reads through `inquiries_visible_to(user)`: a buyer
sees its company's inquiries, staff their subsidiary's, and an id outside that is a 404.
Buyers (and guests) get the public part: public timeline events, no routing, deadlines or
owner's address; staff also get `internal` and every event.

The views translate input and call `inquiries.services`; domain errors become 400 (409 for a
conflict with the state of the data) with the field at fault (chemmall.api.exception_handler),
a guest over the hourly limit of their network 429.
"""

import contextlib
import re
from pathlib import PurePath

import django_filters
from django.conf import settings
from django.db.models import Prefetch, Q
from django.http import FileResponse, Http404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS, AllowAny, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Company
from catalog.api import SellerSerializer
from catalog.models import SalesUnit, normalize_cas
from chemmall.api import enum_field, id_field, money_field, quantity_field
from chemmall.errors import DomainError
from orders.api import (
    ERROR_400,
    ERROR_404,
    ERROR_409,
    CompanyBriefSerializer,
    ProductBriefSerializer,
)
from orders.models import Order

from . import selectors, services
from .models import Channel, Incoterm, Inquiry, InquiryEvent, LostReason, Quote

# What buyers and guests may say about how their inquiry came in; CCOs log the others.
OUTSIDER_CHANNELS = (Channel.API, Channel.WEB)
MESSAGE_KINDS = (InquiryEvent.Kind.MESSAGE_IN, InquiryEvent.Kind.MESSAGE_OUT,
                 InquiryEvent.Kind.NOTE)
RATE_LIMITED_RETRY_AFTER = 3600  # the guest limit counts the last hour

ERROR_403 = OpenApiResponse(description=_("Not signed in, or not a role that may do this."))
ERROR_429 = OpenApiResponse(description=_(
    "A guest's network sent too many inquiries in the last hour: `{detail: message, code}`."))



def _is_staff(user) -> bool:
    """Staff (of an organisation) see the internal part; buyers and guests the public one."""
    return bool(user.is_authenticated and user.organization_id)


@contextlib.contextmanager
def _service_errors(**rename):
    """An object the caller may not see is a 404; a service's field names become the API's."""
    try:
        yield
    except (Inquiry.DoesNotExist, Quote.DoesNotExist):
        raise Http404 from None
    except DomainError as exc:
        exc.field = rename.get(exc.field, exc.field)
        raise


# --- Permissions ------------------------------------------------------------------------------


class SellerStaffWrites(BasePermission):
    """Reading is for whoever sees the inquiry; writing for the seller's CCOs and managers."""

    message = _("Only the seller's CCOs and managers can do this.")

    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS or selectors.staff_can_answer(request.user)


class StaffMayAnswer(BasePermission):
    """Buyers write freely; staff only when they are CCOs or managers (not finance, depots)."""

    message = SellerStaffWrites.message

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS or not _is_staff(request.user):
            return True
        return selectors.staff_can_answer(request.user)


class BuyersOnly(BasePermission):
    message = _("Only the buyer company decides on a quote.")

    def has_permission(self, request, view) -> bool:
        return request.user.is_authenticated and not request.user.organization_id


# --- Enums as named components ------------------------------------------------------------------
# `status` and `kind` name other choice sets elsewhere in the schema (orders, organisations),
# and the units and lost reasons appear under several field names: these are broken out under
# their own names instead of colliding.


InquiryStatusField = enum_field(Inquiry.Status, "InquiryStatus", blank_is_null=True)
QuoteStatusField = enum_field(Quote.Status, "QuoteStatus", blank_is_null=True)
InquiryEventKindField = enum_field(InquiryEvent.Kind, "InquiryEventKind", blank_is_null=True)


LostReasonField = enum_field(LostReason, "LostReason", blank_is_null=True)
UnitField = enum_field(SalesUnit, "QuantityUnit", blank_is_null=True)


# --- Serializers: output --------------------------------------------------------------------


class OutputSerializer(serializers.ModelSerializer):
    """Answers only: every field read-only, so the schema lists each as always present."""

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            field.read_only = True
        return fields


class RegionBriefSerializer(serializers.Serializer):
    code = serializers.CharField(help_text=_("GB/T 2260 code."))
    name = serializers.CharField()


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="full_name")
    email = serializers.EmailField()


class OrderBriefSerializer(OutputSerializer):
    class Meta:
        model = Order
        fields = ["id", "number", "status", "total"]


class InquiryEventSerializer(OutputSerializer):
    kind = InquiryEventKindField()
    kind_label = serializers.CharField(source="get_kind_display")
    actor = serializers.CharField(source="actor.full_name", allow_null=True, help_text=_(
        "Who wrote or did it; null for the system and for guests."))
    from_status = InquiryStatusField(allow_null=True)
    to_status = InquiryStatusField(allow_null=True)
    body = serializers.CharField(help_text=_(
        "Plain text exactly as written: escape it before putting it into HTML."))
    attachment_name = serializers.SerializerMethodField()
    attachment_url = serializers.SerializerMethodField(help_text=_(
        "Download of the attachment (signed-in callers); null without one."))
    is_public = serializers.BooleanField(help_text=_(
        "Shown to the buyer; buyers only ever see public events."))

    class Meta:
        model = InquiryEvent
        fields = ["id", "kind", "kind_label", "actor", "body", "from_status", "to_status",
                  "attachment_name", "attachment_url", "is_public", "created_at"]

    def get_attachment_name(self, event) -> str | None:
        return PurePath(event.attachment.name).name if event.attachment else None

    def get_attachment_url(self, event) -> str | None:
        if not event.attachment or not self.context.get("links", True):
            return None
        url = reverse("api-inquiry-message-attachment", args=[event.inquiry_id, event.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


class QuoteChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    label = serializers.CharField()
    previous = serializers.CharField()
    current = serializers.CharField()


class QuoteSerializer(OutputSerializer):
    inquiry_id = serializers.IntegerField()
    status = QuoteStatusField()
    status_label = serializers.CharField(source="get_status_display")
    can_accept = serializers.SerializerMethodField(help_text=_(
        "The current version, still valid: the buyer may accept or decline it."))
    product = ProductBriefSerializer(help_text=_("What the order will be for."))
    unit = UnitField()
    total = money_field(help_text=_("Unit price × quantity (CNY)."))
    incoterm_label = serializers.CharField(source="get_incoterm_display")
    created_by = serializers.CharField(source="created_by.full_name")
    order = OrderBriefSerializer(allow_null=True, help_text=_("Once accepted."))
    changes = QuoteChangeSerializer(many=True, help_text=_(
        "What this version changed from the previous one; empty for version 1."))

    class Meta:
        model = Quote
        fields = ["id", "inquiry_id", "version", "status", "status_label", "can_accept",
                  "product", "quantity", "unit", "unit_price", "tax_inclusive", "total",
                  "valid_until", "lead_time_days", "incoterm", "incoterm_label",
                  "payment_terms", "note", "created_by", "created_at", "decided_at",
                  "decline_reason", "order", "changes"]

    def get_can_accept(self, quote) -> bool:
        return quote.status == Quote.Status.SENT and quote.valid_until >= timezone.localdate()


class QuoteSentSerializer(QuoteSerializer):
    list_price = money_field(allow_null=True, help_text=_(
        "The public list price for this quantity today (CNY per unit); null without one."))
    below_list_price = serializers.BooleanField(help_text=_(
        "The quote is below the public list price: allowed, but worth a second look."))

    class Meta(QuoteSerializer.Meta):
        fields = [*QuoteSerializer.Meta.fields, "list_price", "below_list_price"]


class InquiryInternalSerializer(OutputSerializer):
    """What only the seller's staff see."""

    owner = PersonSerializer(allow_null=True)
    buyer = PersonSerializer(allow_null=True, help_text=_("The signed-in buyer who sent it."))
    logged_by = PersonSerializer(allow_null=True, help_text=_(
        "The CCO who entered a phone, WeChat or fair inquiry."))
    is_overdue = serializers.BooleanField()
    lost_reason = LostReasonField(allow_null=True, help_text=_("Null unless lost."))
    lost_reason_label = serializers.CharField(source="get_lost_reason_display")

    class Meta:
        model = Inquiry
        fields = ["owner", "buyer", "logged_by", "routing_reason", "assigned_at", "remind_at",
                  "response_due_at", "reminded_at", "first_response_at", "is_overdue",
                  "escalation_count", "contact_name", "contact_company", "contact_email",
                  "contact_phone", "lost_reason", "lost_reason_label", "lost_note"]


class InquiryListSerializer(OutputSerializer):
    status = InquiryStatusField()
    status_label = serializers.CharField(source="get_status_display")
    channel_label = serializers.CharField(source="get_channel_display")
    subject = serializers.CharField(help_text=_("What is asked for, as one line."))
    product = ProductBriefSerializer(allow_null=True, help_text=_("A listed product, or null."))
    cas = serializers.SerializerMethodField(help_text=_(
        "CAS number of what is asked for (the product's chemical or the one given)."))
    delivery_region = RegionBriefSerializer(allow_null=True)
    company = CompanyBriefSerializer(allow_null=True, help_text=_("The buyer company."))
    seller = SellerSerializer(help_text=_("The subsidiary (or HQ pool) that answers."))
    unit = UnitField()
    owner_name = serializers.CharField(source="owner.full_name", allow_null=True, help_text=_(
        "The officer in charge; null until someone is."))
    order = OrderBriefSerializer(allow_null=True, help_text=_("The order it was won with."))
    internal = serializers.SerializerMethodField(help_text=_(
        "Routing, deadlines, contact details and lost reason: staff only, null for buyers."))

    class Meta:
        model = Inquiry
        fields = ["id", "number", "status", "status_label", "channel", "channel_label",
                  "subject", "product", "requested_name", "requested_cas", "cas",
                  "is_unlisted", "quantity", "unit", "target_price", "delivery_region",
                  "needed_by", "wants_local_service", "company", "seller", "owner_name",
                  "received_at", "closed_at", "order", "internal"]

    def get_cas(self, inquiry) -> str | None:
        if inquiry.product_id and inquiry.product.chemical_id:
            return inquiry.product.chemical.cas
        if inquiry.chemical_id:
            return inquiry.chemical.cas
        return inquiry.requested_cas or None

    @extend_schema_field(InquiryInternalSerializer(allow_null=True))
    def get_internal(self, inquiry):
        if not self.context.get("staff"):
            return None
        return InquiryInternalSerializer(inquiry).data


class InquiryDetailSerializer(InquiryListSerializer):
    events = InquiryEventSerializer(many=True, help_text=_(
        "The timeline, oldest first: the public events for buyers, every event for staff."))
    quotes = serializers.SerializerMethodField(help_text=_("Every version, newest first."))

    class Meta(InquiryListSerializer.Meta):
        fields = [*InquiryListSerializer.Meta.fields, "message", "events", "quotes"]

    @extend_schema_field(QuoteSerializer(many=True))
    def get_quotes(self, inquiry):
        return QuoteSerializer(_with_changes(list(inquiry.quotes.all())), many=True).data


class InquiryCreatedSerializer(InquiryDetailSerializer):
    access_token = serializers.SerializerMethodField(help_text=_(
        "Guests only, in this answer only: the private key of the inquiry. Keep it."))
    tracking_url = serializers.SerializerMethodField(help_text=_(
        "Guests only, in this answer only: the private page of the inquiry (its API view is "
        "GET /api/v1/inquiries/track/{access_token}/)."))

    class Meta(InquiryDetailSerializer.Meta):
        fields = [*InquiryDetailSerializer.Meta.fields, "access_token", "tracking_url"]

    def get_access_token(self, inquiry) -> str | None:
        return inquiry.access_token if self.context.get("guest") else None

    def get_tracking_url(self, inquiry) -> str | None:
        if not self.context.get("guest"):
            return None
        page = reverse("inquiries:track", args=[inquiry.access_token])
        return f"{settings.SITE_URL.rstrip('/')}{page}"


class QuoteAcceptedSerializer(serializers.Serializer):
    order = OrderBriefSerializer()
    quote = QuoteSerializer()


# --- Serializers: input -----------------------------------------------------------------------


class InquiryCreateSerializer(serializers.Serializer):
    product_id = id_field(required=False, allow_null=True, help_text=_(
        "A listed product (GET /products/); or leave it out and name the chemical."))
    requested_name = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                           default="", help_text=_(
                                               "A chemical we may not list: its name …"))
    requested_cas = serializers.CharField(max_length=20, required=False, allow_blank=True,
                                          default="", help_text=_(
                                              "… and/or its CAS number, e.g. 7664-93-9."))
    quantity = quantity_field(help_text=_("More than zero, at most three decimals."))
    unit = UnitField(required=False, help_text=_(
        "For a named chemical (default kg); a product's inquiry is in its sales unit."))
    target_price = money_field(required=False, allow_null=True, help_text=_(
        "CNY per unit, optional."))
    delivery_region = serializers.CharField(max_length=6, required=False, allow_blank=True,
                                            allow_null=True, help_text=_(
                                                "GB/T 2260 code of the province or city."))
    needed_by = serializers.DateField(required=False, allow_null=True, help_text=_(
        "Today or later."))
    wants_local_service = serializers.BooleanField(required=False, default=False, help_text=_(
        "Ask to be served by a dealer near the delivery address."))
    message = serializers.CharField(max_length=services.MAX_MESSAGE_LENGTH, required=False,
                                    allow_blank=True, default="")
    channel = serializers.ChoiceField(choices=Channel.choices, required=False, help_text=_(
        "Buyers and guests: `api` (the default) or `web`. Staff logging an inquiry: how it "
        "came in (phone, WeChat, exhibition …)."))
    company_id = serializers.PrimaryKeyRelatedField(
        queryset=Company.objects.filter(is_active=True), required=False, allow_null=True,
        help_text=_("Staff logging an inquiry: the buyer company, if known."))
    contact_name = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                         default="", help_text=_("Guests (and staff logging "
                                                                 "an inquiry): required."))
    contact_company = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                            default="")
    contact_email = serializers.EmailField(max_length=254, required=False, allow_blank=True,
                                           default="", help_text=_(
                                               "Guests: an email address or a phone number."))
    contact_phone = serializers.CharField(max_length=32, required=False, allow_blank=True,
                                          default="")


class MessagePostSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=services.MAX_MESSAGE_LENGTH, help_text=_(
        "Plain text; stored and returned exactly as written."))
    internal = serializers.BooleanField(default=False, help_text=_(
        "Staff: an internal note the buyer never sees."))
    attachment = serializers.FileField(required=False, allow_null=True, help_text=_(
        "multipart/form-data only: a PDF, PNG or JPEG of at most 10 MB (a COA, a drawing)."))


class QuoteSendSerializer(serializers.Serializer):
    expected_version = serializers.IntegerField(min_value=0, max_value=32767, help_text=_(
        "The latest version you have seen: 0 for the first quote. If a colleague quoted "
        "meanwhile, 409 instead of replacing their quote."))
    product_id = id_field(required=False, allow_null=True, help_text=_(
        "What the order will be for: a product of the seller; defaults to the inquiry's."))
    quantity = quantity_field()
    unit_price = money_field(help_text=_("CNY per sales unit of the product."))
    tax_inclusive = serializers.BooleanField(default=True)
    valid_until = serializers.DateField(help_text=_(
        "Today or later, and not beyond the end of the price list in force for the product."))
    lead_time_days = serializers.IntegerField(help_text=_("0 to 365."))
    incoterm = serializers.ChoiceField(choices=Incoterm.choices, default=Incoterm.DAP)
    payment_terms = serializers.CharField(max_length=200)
    note = serializers.CharField(max_length=services.MAX_MESSAGE_LENGTH, required=False,
                                 allow_blank=True, default="")


class QuoteAcceptSerializer(serializers.Serializer):
    fulfilment = serializers.ChoiceField(choices=Order.Fulfilment.choices)
    payment_method = serializers.ChoiceField(choices=Order.PaymentMethod.choices)
    address_id = id_field(required=False, allow_null=True, help_text=_(
        "Delivery: an address of your company's book (GET /addresses/)."))
    depot_id = id_field(required=False, allow_null=True, help_text=_(
        "Pickup: a depot of the seller."))
    carrier_id = id_field(required=False, allow_null=True, help_text=_(
        "Delivery: a carrier (GET /carriers/); dangerous goods need a hazmat-qualified one."))
    po_number = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                      default="")


class QuoteDeclineSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=services.MAX_MESSAGE_LENGTH, allow_blank=True,
                                   help_text=_("Why: the seller learns from it."))


class ReassignSerializer(serializers.Serializer):
    to_user_id = id_field(help_text=_("A CCO or manager of the inquiry's seller."))
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class CloseSerializer(serializers.Serializer):
    reason = LostReasonField(help_text=_("Why it is lost; `other` needs a note."))
    note = serializers.CharField(max_length=services.MAX_MESSAGE_LENGTH, required=False,
                                 allow_blank=True, default="")


# --- Reads --------------------------------------------------------------------------------------


def _with_timeline(qs, *, staff: bool):
    """Inquiries with what the detail shows: the events the caller may see, every quote."""
    events = InquiryEvent.objects.select_related("actor").order_by("created_at", "pk")
    if not staff:
        events = events.filter(is_public=True)
    quotes = Quote.objects.select_related("product__chemical", "created_by", "order").order_by(
        "-version")
    return qs.select_related(
        "seller", "owner", "company", "product__chemical", "chemical", "delivery_region",
        "order", "buyer", "logged_by",
    ).prefetch_related(Prefetch("events", queryset=events), Prefetch("quotes", queryset=quotes))


def _with_changes(quotes: list[Quote]) -> list[Quote]:
    """Each version with what it changed from the one before (versions of one inquiry)."""
    by_version = {quote.version: quote for quote in quotes}
    for quote in quotes:
        previous = by_version.get(quote.version - 1)
        quote.changes = [] if previous is None else [
            {"field": name, "label": str(label), "previous": str(getattr(previous, name)),
             "current": str(getattr(quote, name))}
            for name, label in services.FIELDS_COMPARED
            if getattr(previous, name) != getattr(quote, name)]
    return quotes


def _quote_body(quote_id: int, serializer=QuoteSerializer, **extra) -> dict:
    quote = Quote.objects.only("inquiry_id").get(pk=quote_id)
    versions = _with_changes(list(
        Quote.objects.filter(inquiry_id=quote.inquiry_id)
        .select_related("product__chemical", "created_by", "order")))
    quote = next(version for version in versions if version.pk == quote_id)
    for name, value in extra.items():
        setattr(quote, name, value)
    return serializer(quote).data


def _inquiry_body(request, inquiry_id: int, serializer=InquiryDetailSerializer,
                  **context) -> dict:
    staff = _is_staff(request.user)
    qs = _with_timeline(selectors.inquiries_visible_to(request.user), staff=staff)
    try:
        inquiry = qs.get(pk=inquiry_id)
    except Inquiry.DoesNotExist:
        raise Http404 from None
    return serializer(inquiry, context={"request": request, "staff": staff, **context}).data


def _visible_or_404(user, inquiry_id: int) -> None:
    if not selectors.inquiries_visible_to(user).filter(pk=inquiry_id).exists():
        raise Http404


# --- Filters ----------------------------------------------------------------------------------

CAS_LIKE = re.compile(r"^[\d\s-]{5,14}$")


class InquiryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Inquiry.Status.choices)
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    unlisted = django_filters.BooleanFilter(field_name="is_unlisted", label=_(
        "For a chemical nobody lists (unmet demand)"))
    mine = django_filters.BooleanFilter(method="filter_mine", label=_(
        "Staff: owned by me; buyers: sent by me"))
    overdue = django_filters.BooleanFilter(method="filter_overdue", label=_(
        "Staff: unanswered past the response deadline (ignored for buyers)"))
    q = django_filters.CharFilter(method="filter_q", max_length=64, label=_(
        "Inquiry number, CAS number, chemical, product or company name contains"))

    class Meta:
        model = Inquiry
        fields = ["status", "channel", "unlisted", "mine", "overdue", "q"]

    def filter_mine(self, queryset, name, value):
        if value is None:
            return queryset
        user = self.request.user
        field = "owner" if _is_staff(user) else "buyer"
        return queryset.filter(**{field: user}) if value else queryset.exclude(**{field: user})

    def filter_overdue(self, queryset, name, value):
        if value is None or not _is_staff(self.request.user):
            return queryset
        overdue = Q(first_response_at__isnull=True, response_due_at__lt=timezone.now(),
                    status__in=selectors.UNANSWERED_STATUSES)
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    def filter_q(self, queryset, name, value: str):
        value = value.strip()
        if not value:
            return queryset
        match = Q()
        for field in ("number", "requested_name", "requested_cas", "chemical__cas",
                      "chemical__name_en", "chemical__name_zh", "product__name_en",
                      "product__name_zh", "product__chemical__cas",
                      "product__chemical__name_en", "product__chemical__name_zh",
                      "company__name", "contact_company"):
            match |= Q(**{f"{field}__icontains": value})
        if CAS_LIKE.match(value):
            cas = normalize_cas(value)
            match |= Q(requested_cas=cas) | Q(chemical__cas=cas) | Q(product__chemical__cas=cas)
        return queryset.filter(match)


# --- Views: inquiries -------------------------------------------------------------------------


class InquiryListView(generics.ListAPIView):
    serializer_class = InquiryListSerializer
    filterset_class = InquiryFilter

    def get_permissions(self):
        if self.request.method == "POST":
            return [AllowAny()]  # guests send inquiries; the service limits them per network
        return super().get_permissions()

    def get_throttles(self):
        return [] if self.request.method == "POST" else super().get_throttles()

    def get_queryset(self):
        return selectors.inquiries_visible_to(self.request.user).select_related(
            "order", "buyer", "logged_by")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "staff": _is_staff(self.request.user)}

    @extend_schema(description=_(
        "Inquiries the caller may see: a buyer its company's, staff their subsidiary's; newest "
        "first."))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=InquiryCreateSerializer,
        responses={201: InquiryCreatedSerializer, 400: ERROR_400, 403: ERROR_403,
                   429: ERROR_429},
        description=_(
            "Send an inquiry — guests too — for a listed product or for a chemical by name "
            "and/or CAS number. It is routed at once (seller, owner, response deadline). "
            "A guest gives contact details and gets the private link of the inquiry in this "
            "answer, and only here. Staff (CCOs, managers) log inquiries that came in another "
            "way with their channel, for a company if known."),
    )
    def post(self, request):
        data = InquiryCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        user = request.user
        staff = _is_staff(user)
        channel = values.get("channel")
        if staff:
            if not selectors.staff_can_answer(user):
                raise PermissionDenied(_("Only CCOs and managers log inquiries."))
            channel = channel or Channel.WEB  # the service asks how it came in
        else:
            channel = channel or Channel.API
            if channel not in OUTSIDER_CHANNELS:
                raise DomainError(_("Inquiries sent here come in by “api” or “web”."),
                                  field="channel")
            if values.get("company_id") is not None:
                raise DomainError(_("Only staff logging an inquiry name the company."),
                                  field="company_id")
        company = values.get("company_id")
        try:
            inquiry = services.inquiry_submit(
                buyer=None if staff else user, logged_by=user if staff else None,
                company_id=company.pk if company is not None else None,
                product_id=values.get("product_id"), requested_name=values["requested_name"],
                requested_cas=values["requested_cas"], quantity=values["quantity"],
                unit=values.get("unit", ""), target_price=values.get("target_price"),
                delivery_region_code=values.get("delivery_region") or None,
                needed_by=values.get("needed_by"), message=values["message"], channel=channel,
                wants_local_service=values.get("wants_local_service", False),
                contact_name=values["contact_name"], contact_company=values["contact_company"],
                contact_email=values["contact_email"], contact_phone=values["contact_phone"],
                client_ip=request.META.get("REMOTE_ADDR"),
            )
        except DomainError as exc:
            if exc.code != "rate_limited":
                raise
            return Response(exc.as_dict(), status=status.HTTP_429_TOO_MANY_REQUESTS,
                            headers={"Retry-After": str(RATE_LIMITED_RETRY_AFTER)})
        # Staff who logged an inquiry for another subsidiary's product see its public part.
        sees_internal = staff and selectors.inquiries_visible_to(user).filter(
            pk=inquiry.pk).exists()
        inquiry = _with_timeline(Inquiry.objects.all(), staff=sees_internal).get(pk=inquiry.pk)
        guest = not user.is_authenticated
        body = InquiryCreatedSerializer(inquiry, context={
            "request": request, "staff": sees_internal, "guest": guest}).data
        response = Response(body, status=status.HTTP_201_CREATED)
        if guest:
            response["Cache-Control"] = "no-store"  # it carries the private link
        return response


class InquiryDetailView(APIView):
    @extend_schema(responses={200: InquiryDetailSerializer, 404: ERROR_404}, description=_(
        "One inquiry with its timeline and quote versions. Buyers see the public events; staff "
        "every event, and `internal` (routing, deadlines, contact details)."))
    def get(self, request, pk: int):
        return Response(_inquiry_body(request, pk))


class InquiryTrackView(APIView):
    """A guest's private link: the public view of the inquiry, by its access token."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: InquiryDetailSerializer, 404: ERROR_404}, description=_(
        "The public view of an inquiry (public events, quote versions) by the private token "
        "its guest received; no sign-in. A wrong token is a 404."))
    def get(self, request, token: str):
        inquiry = selectors.inquiry_for_token(token)
        if inquiry is None:
            raise Http404
        inquiry = _with_timeline(Inquiry.objects.all(), staff=False).get(pk=inquiry.pk)
        body = InquiryDetailSerializer(inquiry, context={
            "request": request, "staff": False, "links": False}).data
        response = Response(body)
        response["Cache-Control"] = "no-store"
        return response


class InquiryReassignView(APIView):
    permission_classes = [IsAuthenticated, SellerStaffWrites]

    @extend_schema(request=ReassignSerializer,
                   responses={200: InquiryDetailSerializer, 400: ERROR_400, 403: ERROR_403,
                              404: ERROR_404, 409: ERROR_409},
                   description=_("Hand the inquiry to a colleague of its seller; the response "
                                 "deadline keeps running."))
    def post(self, request, pk: int):
        data = ReassignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with _service_errors(owner="to_user_id"):
            services.inquiry_reassign(inquiry_id=pk, actor=request.user,
                                      to_user_id=data.validated_data["to_user_id"],
                                      note=data.validated_data["note"])
        return Response(_inquiry_body(request, pk))


class InquiryCloseView(APIView):
    permission_classes = [IsAuthenticated, SellerStaffWrites]

    @extend_schema(request=CloseSerializer,
                   responses={200: InquiryDetailSerializer, 400: ERROR_400, 403: ERROR_403,
                              404: ERROR_404, 409: ERROR_409},
                   description=_("Close the inquiry as lost, with the reason (an open quote "
                                 "is withdrawn). A won inquiry cannot be closed (409)."))
    def post(self, request, pk: int):
        data = CloseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with _service_errors():
            services.inquiry_close_lost(inquiry_id=pk, actor=request.user,
                                        reason=data.validated_data["reason"],
                                        note=data.validated_data["note"])
        return Response(_inquiry_body(request, pk))


# --- Views: messages --------------------------------------------------------------------------


class InquiryMessageListView(generics.ListAPIView):
    """Messages between buyer and seller, oldest first (and, for staff, internal notes)."""

    serializer_class = InquiryEventSerializer
    permission_classes = [IsAuthenticated, StaffMayAnswer]
    parser_classes = [JSONParser, MultiPartParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator's request
            return InquiryEvent.objects.none()
        user, pk = self.request.user, self.kwargs["pk"]
        _visible_or_404(user, pk)
        qs = InquiryEvent.objects.filter(inquiry_id=pk, kind__in=MESSAGE_KINDS).select_related(
            "actor").order_by("created_at", "pk")
        return qs if _is_staff(user) else qs.filter(is_public=True)

    @extend_schema(description=_(
        "The messages of an inquiry, oldest first: buyers see the messages, staff also the "
        "internal notes."), responses={200: InquiryEventSerializer(many=True), 404: ERROR_404})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=MessagePostSerializer,
                   responses={201: InquiryEventSerializer, 400: ERROR_400, 403: ERROR_403,
                              404: ERROR_404},
                   description=_("Write to the other side (the buyer to the seller, staff to "
                                 "the buyer), or, staff, an internal note. JSON, or "
                                 "multipart/form-data with an attachment."))
    def post(self, request, pk: int):
        data = MessagePostSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        with _service_errors():
            event = services.inquiry_message_post(
                inquiry_id=pk, body=values["body"], actor=request.user,
                attachment=values.get("attachment"), internal=values["internal"])
        event = InquiryEvent.objects.select_related("actor").get(pk=event.pk)
        return Response(InquiryEventSerializer(event, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


class InquiryMessageAttachmentView(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY,
                              404: ERROR_404},
                   description=_("The file attached to a message (PDF, PNG or JPEG)."))
    def get(self, request, pk: int, message_id: int):
        _visible_or_404(request.user, pk)
        events = InquiryEvent.objects.filter(pk=message_id, inquiry_id=pk,
                                             kind__in=MESSAGE_KINDS).exclude(attachment="")
        if not _is_staff(request.user):
            events = events.filter(is_public=True)
        event = events.first()
        if event is None:
            raise Http404
        try:
            handle = event.attachment.open("rb")
        except FileNotFoundError:
            raise Http404 from None
        return FileResponse(handle, as_attachment=True,
                            filename=PurePath(event.attachment.name).name)


# --- Views: quotes ----------------------------------------------------------------------------


class InquiryQuoteListView(APIView):
    permission_classes = [IsAuthenticated, SellerStaffWrites]

    @extend_schema(responses={200: QuoteSerializer(many=True), 404: ERROR_404}, description=_(
        "Every quote version of the inquiry, newest first, with what each changed."))
    def get(self, request, pk: int):
        _visible_or_404(request.user, pk)
        quotes = _with_changes(list(
            Quote.objects.filter(inquiry_id=pk)
            .select_related("product__chemical", "created_by", "order").order_by("-version")))
        return Response(QuoteSerializer(quotes, many=True).data)

    @extend_schema(request=QuoteSendSerializer,
                   responses={201: QuoteSentSerializer, 400: ERROR_400, 403: ERROR_403,
                              404: ERROR_404, 409: ERROR_409},
                   description=_(
                       "Staff: send the first quote or a revision (a new version; the previous "
                       "one is superseded). `expected_version` is the latest version you saw: "
                       "409 if a colleague quoted meanwhile."))
    def post(self, request, pk: int):
        data = QuoteSendSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        product_id = values.pop("product_id", None)
        if product_id is None:
            inquiry = selectors.inquiries_visible_to(request.user).filter(pk=pk).values(
                "product_id").first()
            if inquiry is None:
                raise Http404
            product_id = inquiry["product_id"]
        with _service_errors(product="product_id"):
            quote = services.quote_send(inquiry_id=pk, actor=request.user,
                                        product_id=product_id, **values)
        floor = selectors.quote_price_floor(product=quote.product, quantity=quote.quantity)
        list_price = floor.unit_price if floor is not None else None
        body = _quote_body(quote.pk, QuoteSentSerializer, list_price=list_price,
                           below_list_price=list_price is not None
                           and quote.unit_price < list_price)
        return Response(body, status=status.HTTP_201_CREATED)


class QuoteAcceptView(APIView):
    permission_classes = [IsAuthenticated, BuyersOnly]

    @extend_schema(
        request=QuoteAcceptSerializer,
        responses={
            201: OpenApiResponse(QuoteAcceptedSerializer, description=_(
                "Accepted: the order, at the quoted price.")),
            200: OpenApiResponse(QuoteAcceptedSerializer, description=_(
                "Accepted before: the same order.")),
            400: ERROR_400, 403: ERROR_403, 404: ERROR_404,
            409: OpenApiResponse(description=_(
                "Not the current version, or expired: `{detail: message, code}`.")),
        },
        description=_("The buyer accepts the current, valid version: it becomes an order at "
                      "the quoted price. Accepting again returns the same order."),
    )
    def post(self, request, pk: int):
        data = QuoteAcceptSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # Only the status code depends on this: the service itself returns the first order.
        replay = Quote.objects.filter(pk=pk, status=Quote.Status.ACCEPTED).exists()
        with _service_errors():
            order = services.quote_accept(quote_id=pk, buyer=request.user,
                                          **data.validated_data)
        body = {"order": OrderBriefSerializer(order).data, "quote": _quote_body(pk)}
        return Response(body, status=status.HTTP_200_OK if replay else status.HTTP_201_CREATED)


class QuoteDeclineView(APIView):
    permission_classes = [IsAuthenticated, BuyersOnly]

    @extend_schema(request=QuoteDeclineSerializer,
                   responses={200: QuoteSerializer, 400: ERROR_400, 403: ERROR_403,
                              404: ERROR_404, 409: ERROR_409},
                   description=_("The buyer declines the current version, saying why."))
    def post(self, request, pk: int):
        data = QuoteDeclineSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with _service_errors():
            services.quote_decline(quote_id=pk, buyer=request.user,
                                   reason=data.validated_data["reason"])
        return Response(_quote_body(pk))



class InquiryTrackMessageView(APIView):
    """A guest writes to the seller through the private link."""

    permission_classes = [AllowAny]
    authentication_classes = []  # the token is the credential (no session, so no CSRF)

    @extend_schema(request=MessagePostSerializer,
                   responses={201: InquiryEventSerializer, 400: ERROR_400, 404: ERROR_404,
                              409: ERROR_409},
                   description=_("A guest's message on its inquiry, by the private token "
                                 "(`internal` is ignored). A wrong token is a 404."))
    def post(self, request, token: str):
        inquiry = selectors.inquiry_for_token(token)
        if inquiry is None:
            raise Http404
        data = MessagePostSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        with _service_errors():
            event = services.inquiry_message_post(
                inquiry_id=inquiry.pk, body=values["body"], token=token,
                attachment=values.get("attachment"))
        event = InquiryEvent.objects.select_related("actor").get(pk=event.pk)
        return Response(InquiryEventSerializer(event, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


class InquiryTrackQuoteDeclineView(APIView):
    """A guest declines the current quote version through the private link."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=QuoteDeclineSerializer,
                   responses={200: QuoteSerializer, 400: ERROR_400, 404: ERROR_404,
                              409: ERROR_409},
                   description=_("A guest declines the current version of a quote of its "
                                 "inquiry, by the private token, saying why. To accept, the "
                                 "guest registers and claims the inquiry."))
    def post(self, request, token: str, quote_pk: int):
        data = QuoteDeclineSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with _service_errors():
            services.quote_decline(quote_id=quote_pk, token=token,
                                   reason=data.validated_data["reason"])
        return Response(_quote_body(quote_pk))

urlpatterns = [
    path("inquiries/", InquiryListView.as_view(), name="api-inquiries"),
    path("inquiries/track/<str:token>/", InquiryTrackView.as_view(), name="api-inquiry-track"),
    path("inquiries/track/<str:token>/messages/", InquiryTrackMessageView.as_view(),
         name="api-inquiry-track-messages"),
    path("inquiries/track/<str:token>/quotes/<int:quote_pk>/decline/",
         InquiryTrackQuoteDeclineView.as_view(), name="api-inquiry-track-decline"),
    path("inquiries/<int:pk>/", InquiryDetailView.as_view(), name="api-inquiry"),
    path("inquiries/<int:pk>/messages/", InquiryMessageListView.as_view(),
         name="api-inquiry-messages"),
    path("inquiries/<int:pk>/messages/<int:message_id>/attachment/",
         InquiryMessageAttachmentView.as_view(), name="api-inquiry-message-attachment"),
    path("inquiries/<int:pk>/quotes/", InquiryQuoteListView.as_view(),
         name="api-inquiry-quotes"),
    path("inquiries/<int:pk>/reassign/", InquiryReassignView.as_view(),
         name="api-inquiry-reassign"),
    path("inquiries/<int:pk>/close/", InquiryCloseView.as_view(), name="api-inquiry-close"),
    path("quotes/<int:pk>/accept/", QuoteAcceptView.as_view(), name="api-quote-accept"),
    path("quotes/<int:pk>/decline/", QuoteDeclineView.as_view(), name="api-quote-decline"),
]
