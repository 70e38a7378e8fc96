"""/api/v1/dealer/ routes: routed inquiries (answer windows, accept, decline, quote),
commission lines and monthly statements.

Every read starts from a `dealers.selectors.…_visible_to(user)` selector: a dealer's users see
their dealer's, subsidiary staff their subsidiary's dealers', HQ staff all; an id outside that
is a 404. Answering a routed inquiry is for the dealer's own users: staff who can see the
assignment get a 403, everybody else a 404 (the services raise `DoesNotExist` for them).
Domain errors become 400 (409 for a conflict with the state of the data) with the field at
fault (chemmall.api.exception_handler). Money is a decimal string.
"""

import contextlib

import django_filters
from django import forms
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from chemmall.api import MAX_ID, enum_field, id_field, money_field, quantity_field
from chemmall.errors import DomainError
from inquiries.api import ERROR_403, OutputSerializer, QuoteStatusField, UnitField
from inquiries.models import Incoterm, InquiryEvent
from inquiries.services import MAX_MESSAGE_LENGTH
from orders.api import ERROR_400, ERROR_404, ERROR_409

from . import exports, selectors, services
from .models import Assignment, CommissionLine, DealerQuote, Statement

DEALERS_ONLY = _("Only the dealer's own users answer the inquiries routed to it.")



@contextlib.contextmanager
def _answering(user, assignment_id: int):
    """A routed inquiry the caller may not answer: 403 for staff who see it, else 404; the
    services' field names become the API's."""
    try:
        yield
    except Assignment.DoesNotExist:
        if (selectors.dealer_of(user) is None and selectors.assignments_visible_to(user)
                .filter(pk=assignment_id).exists()):
            raise PermissionDenied(DEALERS_ONLY) from None
        raise Http404 from None
    except DomainError as exc:
        exc.field = {"product": "product_id"}.get(exc.field, exc.field)
        raise


# --- Enums as named components ------------------------------------------------------------------
# `status`, `kind` and `basis` name other choice sets elsewhere in the schema (orders,
# organisations, inquiries): these are broken out under their own names instead of colliding.


AssignmentStatusField = enum_field(Assignment.Status, "AssignmentStatus")
StatementStatusField = enum_field(Statement.Status, "StatementStatus")
CommissionKindField = enum_field(CommissionLine.Kind, "CommissionKind")
CommissionBasisField = enum_field(CommissionLine.Basis, "CommissionBasis")


# --- Serializers: output ----------------------------------------------------------------------


class DealerBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class AssignmentInquirySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    subject = serializers.CharField(help_text=_("What is asked for, as one line."))
    product_id = serializers.IntegerField(allow_null=True)
    quantity = quantity_field()
    unit = UnitField()
    delivery_region_name = serializers.CharField(source="delivery_region.name",
                                                 allow_null=True)
    needed_by = serializers.DateField(allow_null=True)


class AssignmentSerializer(OutputSerializer):
    status = AssignmentStatusField()
    status_label = serializers.CharField(source="get_status_display")
    dealer = DealerBriefSerializer()
    inquiry = AssignmentInquirySerializer()
    seconds_left = serializers.SerializerMethodField(help_text=_(
        "Until the answer window closes; 0 once it closed or the inquiry was answered."))
    reason = serializers.CharField(help_text=_("Why the inquiry was routed to this dealer."))

    class Meta:
        model = Assignment
        fields = ["id", "status", "status_label", "dealer", "inquiry", "routed_at", "due_at",
                  "seconds_left", "decided_at", "reason", "decline_reason"]

    def get_seconds_left(self, assignment) -> int:
        if assignment.status != Assignment.Status.ROUTED:
            return 0
        return max(0, int((assignment.due_at - timezone.now()).total_seconds()))


class DealerQuoteSerializer(OutputSerializer):
    id = serializers.IntegerField(source="quote.id")
    version = serializers.IntegerField(source="quote.version")
    status = QuoteStatusField(source="quote.status")
    product_id = serializers.IntegerField(source="quote.product_id")
    quantity = quantity_field(source="quote.quantity")
    unit = UnitField(source="quote.unit")
    unit_price = money_field(source="quote.unit_price", help_text=_("CNY per unit."))
    tax_inclusive = serializers.BooleanField(source="quote.tax_inclusive")
    total = money_field(source="quote.total", help_text=_("Unit price × quantity (CNY)."))
    valid_until = serializers.DateField(source="quote.valid_until")
    lead_time_days = serializers.IntegerField(source="quote.lead_time_days")
    incoterm = serializers.ChoiceField(source="quote.incoterm", choices=Incoterm.choices)
    payment_terms = serializers.CharField(source="quote.payment_terms")
    note = serializers.CharField(source="quote.note")
    created_at = serializers.DateTimeField(source="quote.created_at")

    class Meta:
        model = DealerQuote
        fields = ["id", "version", "status", "product_id", "quantity", "unit", "unit_price",
                  "tax_inclusive", "total", "valid_until", "lead_time_days", "incoterm",
                  "payment_terms", "note", "created_at"]


class AssignmentDetailSerializer(AssignmentSerializer):
    message = serializers.CharField(source="inquiry.message", help_text=_(
        "The buyer's message, plain text exactly as written."))
    quotes = serializers.SerializerMethodField(help_text=_(
        "The dealer's quotes for the inquiry, newest first."))

    class Meta(AssignmentSerializer.Meta):
        fields = [*AssignmentSerializer.Meta.fields, "message", "quotes"]

    @extend_schema_field(DealerQuoteSerializer(many=True))
    def get_quotes(self, assignment):
        quotes = (DealerQuote.objects.filter(dealer_id=assignment.dealer_id,
                                             quote__inquiry_id=assignment.inquiry_id)
                  .select_related("quote").order_by("-quote__version"))
        return DealerQuoteSerializer(quotes, many=True).data


class CommissionLineSerializer(OutputSerializer):
    dealer = DealerBriefSerializer()
    order_id = serializers.IntegerField()
    order_number = serializers.CharField(source="order.number")
    category_name = serializers.CharField(source="category.name")
    kind = CommissionKindField()
    kind_label = serializers.CharField(source="get_kind_display")
    basis = CommissionBasisField()
    basis_label = serializers.CharField(source="get_basis_display")
    base_amount = money_field(help_text=_(
        "The goods value of the order in this category without VAT (CNY); negative for a "
        "clawback."))
    rate = serializers.DecimalField(max_digits=5, decimal_places=2, help_text=_("Percent."))
    amount = money_field(help_text=_("The commission (CNY); negative for a clawback."))
    statement_id = serializers.IntegerField(allow_null=True, help_text=_(
        "The statement that settled the line; null until one did."))

    class Meta:
        model = CommissionLine
        fields = ["id", "dealer", "order_id", "order_number", "category_name", "kind",
                  "kind_label", "basis", "basis_label", "base_amount", "rate", "amount",
                  "note", "created_at", "statement_id"]


class StatementSerializer(OutputSerializer):
    dealer = DealerBriefSerializer()
    month = serializers.DateField(help_text=_("The first day of the month settled."))
    status = StatementStatusField()
    status_label = serializers.CharField(source="get_status_display")
    total = money_field(help_text=_("The sum of its lines (CNY)."))

    class Meta:
        model = Statement
        fields = ["id", "dealer", "month", "status", "status_label", "total", "created_at",
                  "paid_at"]


class StatementDetailSerializer(StatementSerializer):
    lines = CommissionLineSerializer(many=True, help_text=_("Oldest first."))

    class Meta(StatementSerializer.Meta):
        fields = [*StatementSerializer.Meta.fields, "lines"]


# --- Serializers: input -----------------------------------------------------------------------


class DeclineSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=services.MAX_REASON, allow_blank=True,
                                   help_text=_("Why you decline: the subsidiary reads it."))


class MessageSendSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=MAX_MESSAGE_LENGTH, allow_blank=True, help_text=_(
        "Plain text to the buyer (attachments: in the portal)."))


class ConversationMessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    from_buyer = serializers.SerializerMethodField()
    author = serializers.CharField(source="actor.full_name", allow_null=True, help_text=_(
        "Who wrote it; null for a guest buyer."))
    body = serializers.CharField(help_text=_(
        "Plain text exactly as written: escape it before putting it into HTML."))
    created_at = serializers.DateTimeField()

    def get_from_buyer(self, event) -> bool:
        return event.kind == InquiryEvent.Kind.MESSAGE_IN


class DealerQuoteSendSerializer(serializers.Serializer):
    product_id = id_field(required=False, allow_null=True, help_text=_(
        "What the order will be for: a product of the seller; defaults to the inquiry's."))
    quantity = quantity_field()
    unit_price = money_field(help_text=_("CNY per sales unit of the product."))
    tax_inclusive = serializers.BooleanField(default=True)
    valid_until = serializers.DateField(help_text=_(
        "Today or later, and not beyond the end of the price list in force for the product."))
    lead_time_days = serializers.IntegerField(min_value=0, max_value=365,
                                              help_text=_("0 to 365."))
    incoterm = serializers.ChoiceField(choices=Incoterm.choices, default=Incoterm.DAP)
    payment_terms = serializers.CharField(max_length=200)
    note = serializers.CharField(max_length=MAX_MESSAGE_LENGTH, required=False,
                                 allow_blank=True, default="")
    expected_version = serializers.IntegerField(
        min_value=0, max_value=32767, required=False, allow_null=True, default=None,
        help_text=_("The latest version you have seen (0 for the first quote): 409 instead "
                    "of replacing a quote sent meanwhile."))


# --- Filters ----------------------------------------------------------------------------------


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=1, max_value=MAX_ID, **kwargs)


class AssignmentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Assignment.Status.choices)

    class Meta:
        model = Assignment
        fields = ["status"]


class CommissionLineFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=CommissionLine.Kind.choices)
    statement = IdFilter(field_name="statement_id")

    class Meta:
        model = CommissionLine
        fields = ["kind", "statement"]


class StatementFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Statement.Status.choices)

    class Meta:
        model = Statement
        fields = ["status"]


# --- Reads --------------------------------------------------------------------------------------


def _assignments(user):
    return selectors.assignments_visible_to(user).select_related(
        "inquiry__product__chemical", "inquiry__chemical")


def _assignment_body(user, assignment_id: int) -> dict:
    assignment = _assignments(user).filter(pk=assignment_id).first()
    if assignment is None:
        raise Http404
    return AssignmentDetailSerializer(assignment).data


def _lines(qs):
    return qs.select_related("dealer", "order", "category")


def _statements_with_lines(user):
    lines = _lines(CommissionLine.objects.all()).order_by("created_at", "pk")
    return selectors.statements_visible_to(user).prefetch_related(
        Prefetch("lines", queryset=lines))


def _statement_body(user, statement_id: int) -> dict:
    statement = _statements_with_lines(user).filter(pk=statement_id).first()
    if statement is None:
        raise Http404
    return StatementDetailSerializer(statement).data


# --- Views: routed inquiries --------------------------------------------------------------------


@extend_schema_view(get=extend_schema(description=_(
    "Inquiries routed to dealers that the caller may see: a dealer's users their dealer's, "
    "staff their subsidiary's dealers'; newest first.")))
class AssignmentListView(generics.ListAPIView):
    serializer_class = AssignmentSerializer
    filterset_class = AssignmentFilter

    def get_queryset(self):
        return _assignments(self.request.user)


class AssignmentDetailView(APIView):
    @extend_schema(responses={200: AssignmentDetailSerializer, 404: ERROR_404}, description=_(
        "One routed inquiry with its answer window, the buyer's message and the dealer's "
        "quotes."))
    def get(self, request, pk: int):
        return Response(_assignment_body(request.user, pk))


class AssignmentAcceptView(APIView):
    @extend_schema(request=None,
                   responses={200: AssignmentDetailSerializer, 403: ERROR_403, 404: ERROR_404,
                              409: ERROR_409},
                   description=_("The dealer takes the inquiry while its answer window is "
                                 "open: the caller owns it and quotes the buyer. Accepting "
                                 "again changes nothing; after the window closed, 409."))
    def post(self, request, pk: int):
        with _answering(request.user, pk):
            services.assignment_accept(assignment_id=pk, user=request.user)
        return Response(_assignment_body(request.user, pk))


class AssignmentDeclineView(APIView):
    @extend_schema(request=DeclineSerializer,
                   responses={200: AssignmentDetailSerializer, 400: ERROR_400, 403: ERROR_403,
                              404: ERROR_404, 409: ERROR_409},
                   description=_("The dealer will not serve the inquiry, saying why: it goes "
                                 "back to the subsidiary's sales officers. 409 once the "
                                 "window closed or it was accepted."))
    def post(self, request, pk: int):
        data = DeclineSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with _answering(request.user, pk):
            services.assignment_decline(assignment_id=pk, user=request.user,
                                        reason=data.validated_data["reason"])
        return Response(_assignment_body(request.user, pk))


class AssignmentMessagesView(APIView):
    @extend_schema(responses={200: ConversationMessageSerializer(many=True), 404: ERROR_404},
                   description=_("The messages between the buyer and the seller's side (the "
                                 "dealer once it accepted), oldest first; empty before the "
                                 "dealer accepted."))
    def get(self, request, pk: int):
        assignment = _assignments(request.user).filter(pk=pk).first()
        if assignment is None:
            raise Http404
        events = []
        if assignment.status == Assignment.Status.ACCEPTED:
            events = (InquiryEvent.objects.filter(
                inquiry_id=assignment.inquiry_id, is_public=True,
                kind__in=[InquiryEvent.Kind.MESSAGE_IN, InquiryEvent.Kind.MESSAGE_OUT])
                .select_related("actor").order_by("created_at", "pk"))
        return Response(ConversationMessageSerializer(events, many=True).data)

    @extend_schema(request=MessageSendSerializer,
                   responses={201: ConversationMessageSerializer, 400: ERROR_400,
                              403: ERROR_403, 404: ERROR_404, 409: ERROR_409},
                   description=_("The dealer that accepted the inquiry writes to the buyer "
                                 "(409 before accepting); the first message answers it."))
    def post(self, request, pk: int):
        with _answering(request.user, pk):
            dealer = selectors.dealer_of(request.user)
            if dealer is None or not Assignment.objects.filter(pk=pk, dealer=dealer).exists():
                raise Assignment.DoesNotExist
            data = MessageSendSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            event = services.dealer_message_post(assignment_id=pk, user=request.user,
                                                 body=data.validated_data["body"])
        return Response(ConversationMessageSerializer(event).data,
                        status=status.HTTP_201_CREATED)


class AssignmentQuoteView(APIView):
    @extend_schema(request=DealerQuoteSendSerializer,
                   responses={201: DealerQuoteSerializer, 400: ERROR_400, 403: ERROR_403,
                              404: ERROR_404, 409: ERROR_409},
                   description=_("The dealer quotes an inquiry it accepted (409 before): the "
                                 "first quote or a revision, which supersedes the previous "
                                 "one."))
    def post(self, request, pk: int):
        with _answering(request.user, pk):
            # Whose inquiry it is first: an outsider learns nothing from a validation error.
            dealer = selectors.dealer_of(request.user)
            if dealer is None or not Assignment.objects.filter(pk=pk, dealer=dealer).exists():
                raise Assignment.DoesNotExist
            data = DealerQuoteSendSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            values = dict(data.validated_data)
            if values.get("product_id") is None:
                product_id = (_assignments(request.user).filter(pk=pk)
                              .values_list("inquiry__product_id", flat=True).first())
                if product_id is None:
                    raise Assignment.DoesNotExist
                values["product_id"] = product_id
            sent = services.dealer_quote_send(assignment_id=pk, user=request.user, **values)
        sent = DealerQuote.objects.select_related("quote").get(pk=sent.pk)
        return Response(DealerQuoteSerializer(sent).data, status=status.HTTP_201_CREATED)


# --- Views: commissions and statements ----------------------------------------------------------


@extend_schema_view(get=extend_schema(description=_(
    "Commission lines (accruals and clawbacks) the caller may see, newest first.")))
class CommissionLineListView(generics.ListAPIView):
    serializer_class = CommissionLineSerializer
    filterset_class = CommissionLineFilter

    def get_queryset(self):
        return _lines(selectors.commission_lines_visible_to(self.request.user)).order_by(
            "-created_at", "-pk")


@extend_schema_view(get=extend_schema(description=_(
    "Monthly settlement statements the caller may see, newest month first.")))
class StatementListView(generics.ListAPIView):
    serializer_class = StatementSerializer
    filterset_class = StatementFilter

    def get_queryset(self):
        return selectors.statements_visible_to(self.request.user).order_by("-month", "dealer")


class StatementDetailView(APIView):
    @extend_schema(responses={200: StatementDetailSerializer, 404: ERROR_404},
                   description=_("One statement with its commission lines."))
    def get(self, request, pk: int):
        return Response(_statement_body(request.user, pk))


class StatementXlsxView(APIView):
    def perform_content_negotiation(self, request, force=False):
        # The workbook is not rendered: any Accept header gets it (errors answer JSON).
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(responses={(200, exports.XLSX_TYPE): OpenApiTypes.BINARY, 404: ERROR_404},
                   description=_("The statement as an Excel workbook: one row per line and "
                                 "the total."))
    def get(self, request, pk: int):
        statement = selectors.statements_visible_to(request.user).filter(pk=pk).first()
        if statement is None:
            raise Http404
        response = HttpResponse(exports.statement_xlsx(statement),
                                content_type=exports.XLSX_TYPE)
        response["Content-Disposition"] = content_disposition_header(
            True, exports.statement_filename(statement))
        response["Cache-Control"] = "private, no-store"
        return response


class StatementPaidView(APIView):
    @extend_schema(request=None,
                   responses={200: StatementDetailSerializer, 404: ERROR_404,
                              409: OpenApiResponse(description=_(
                                  "The caller is not finance: `{detail: message, code}`."))},
                   description=_("Finance marks the statement paid; marking it again changes "
                                 "nothing."))
    def post(self, request, pk: int):
        try:
            services.statement_mark_paid(statement_id=pk, actor=request.user)
        except Statement.DoesNotExist:
            raise Http404 from None
        return Response(_statement_body(request.user, pk))


urlpatterns = [
    path("dealer/assignments/", AssignmentListView.as_view(), name="api-dealer-assignments"),
    path("dealer/assignments/<int:pk>/", AssignmentDetailView.as_view(),
         name="api-dealer-assignment"),
    path("dealer/assignments/<int:pk>/accept/", AssignmentAcceptView.as_view(),
         name="api-dealer-assignment-accept"),
    path("dealer/assignments/<int:pk>/decline/", AssignmentDeclineView.as_view(),
         name="api-dealer-assignment-decline"),
    path("dealer/assignments/<int:pk>/quote/", AssignmentQuoteView.as_view(),
         name="api-dealer-assignment-quote"),
    path("dealer/assignments/<int:pk>/messages/", AssignmentMessagesView.as_view(),
         name="api-dealer-assignment-messages"),
    path("dealer/commission-lines/", CommissionLineListView.as_view(),
         name="api-dealer-commission-lines"),
    path("dealer/statements/", StatementListView.as_view(), name="api-dealer-statements"),
    path("dealer/statements/<int:pk>/", StatementDetailView.as_view(),
         name="api-dealer-statement"),
    path("dealer/statements/<int:pk>/xlsx/", StatementXlsxView.as_view(),
         name="api-dealer-statement-xlsx"),
    path("dealer/statements/<int:pk>/paid/", StatementPaidView.as_view(),
         name="api-dealer-statement-paid"),
]
