"""/api/v1/ routes of the orders app: cart, checkout, orders, address book, carriers, pickups.

The views translate input and call `orders.services` / `orders.selectors`; every object is
read through a `…_visible_to(user)` selector, so an id outside the caller's scope is a 404.
Domain errors become 400 (409 for a conflict with the state of the data) with the field at
fault (chemmall.api.exception_handler).

Placing an order needs an `Idempotency-Key` header: the same key (per user) never places a
second order; a replay answers 200 with the orders of the first request (201 the first time).
"""

import django_filters
from django.db.models import Q, prefetch_related_objects
from django.http import Http404
from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import STAFF_ROLES
from accounts.selectors import user_company_id
from catalog.api import SellerSerializer
from chemmall.api import AutoSchema, id_field, money_field, quantity_field
from chemmall.errors import DomainError
from chemmall.money import vat_rate

from . import selectors, services
from .models import Address, Carrier, Checkout, Order, OrderEvent, OrderLine, Pickup, PickupLine

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, location=OpenApiParameter.HEADER, required=True,
    description=_("1 to 64 characters, new for every order you mean to place (a UUID). "
                  "Sending the same key again returns the orders it placed, with 200, and "
                  "places nothing."),
)
ERROR_400 = OpenApiResponse(description=_(
    "Bad input: `{field: [message], code}` (or `{detail: message, code}`)."))
ERROR_404 = OpenApiResponse(description=_("Not found, or not yours to see."))
ERROR_409 = OpenApiResponse(description=_(
    "The state of the data forbids it: `{detail: message, code}`."))



def pickup_code_visible_to(user, order: Order) -> bool:
    """The pickup code hands the goods over: only the buyer company's members and staff
    (seller, finance, depot) may read it."""
    if user.is_superuser or (user.organization_id and STAFF_ROLES & user.roles):
        return True
    return user_company_id(user) == order.company_id


# --- Serializers: shared pieces ---------------------------------------------------------------


class ProductBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField(source="display_name",
                                 help_text=_("In the request's language."))


class DepotBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class CompanyBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class AddressSerializer(serializers.ModelSerializer):
    city = serializers.CharField(source="region_id", help_text=_(
        "GB/T 2260 code of the city (of the municipality for Beijing, Tianjin, Shanghai, "
        "Chongqing)."))
    city_name = serializers.CharField(source="region.name")
    province_name = serializers.SerializerMethodField()

    class Meta:
        model = Address
        fields = ["id", "label", "recipient", "phone", "city", "city_name", "province_name",
                  "line", "is_default"]

    def get_province_name(self, address) -> str:
        region = address.region
        return region.parent.name if region.parent_id else region.name


class CarrierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Carrier
        fields = ["id", "name", "hazmat_qualified"]


# --- Serializers: cart ------------------------------------------------------------------------


class CartLineSerializer(serializers.Serializer):
    product = ProductBriefSerializer(source="line.product")
    seller = SellerSerializer(source="line.product.seller")
    quantity = quantity_field(source="line.quantity")
    unit = serializers.CharField(source="line.product.sales_unit")
    min_order_quantity = quantity_field(source="line.product.min_order_quantity")
    quantity_step = quantity_field(source="line.product.quantity_step")
    unit_price = money_field(source="price.unit_price", allow_null=True, help_text=_(
        "CNY per unit, of the tier the quantity reaches, for the caller's company today; "
        "null without a valid price."))
    tax_inclusive = serializers.BooleanField(source="price.tax_inclusive", allow_null=True)
    line_total = money_field(allow_null=True)
    price_missing = serializers.SerializerMethodField(help_text=_(
        "No valid price today: the cart cannot be placed until it is removed."))

    def get_price_missing(self, view) -> bool:
        return view.price is None


class CartSerializer(serializers.Serializer):
    lines = CartLineSerializer(many=True)
    total = money_field(help_text=_("Sum of the priced lines (CNY)."))
    has_unpriced = serializers.BooleanField()
    vat_rate = serializers.DecimalField(max_digits=5, decimal_places=4)


class CartLineQuantitySerializer(serializers.Serializer):
    quantity = quantity_field(help_text=_(
        "In the product's sales unit, from its minimum order quantity in its steps; "
        "0 removes the line."))


def _cart_body(user) -> dict:
    cart = selectors.cart_for(user)
    return CartSerializer({"lines": cart.lines, "total": cart.total,
                           "has_unpriced": cart.has_unpriced, "vat_rate": vat_rate()}).data


# --- Serializers: orders ----------------------------------------------------------------------


class OrderListSerializer(serializers.ModelSerializer):
    status_label = serializers.CharField(source="get_status_display")
    company = CompanyBriefSerializer(help_text=_("The buyer company."))
    seller = SellerSerializer()
    pickup_depot = DepotBriefSerializer(allow_null=True)

    class Meta:
        model = Order
        fields = ["id", "number", "status", "status_label", "fulfilment", "payment_method",
                  "company", "seller", "pickup_depot", "po_number", "requested_date",
                  "subtotal", "vat", "vat_rate", "total", "placed_at"]


class OrderLineSerializer(serializers.ModelSerializer):
    product = ProductBriefSerializer()
    remaining = quantity_field(help_text=_("Bought but not yet picked up."))
    depot = DepotBriefSerializer(allow_null=True, help_text=_(
        "Where the stock is reserved; null for services."))

    class Meta:
        model = OrderLine
        fields = ["id", "product", "quantity", "unit", "unit_price", "tax_inclusive",
                  "line_total", "picked_up", "remaining", "depot"]


class OrderEventSerializer(serializers.ModelSerializer):
    # `status` (not to_status): one name for the order status enum across the schema.
    status = serializers.ChoiceField(source="to_status", choices=Order.Status.choices,
                                     help_text=_("The status the order moved to."))
    status_label = serializers.CharField(source="get_to_status_display")
    from_status = serializers.CharField(help_text=_(
        "The status before (a `status` value); empty for the order's creation."))
    actor = serializers.CharField(source="actor.full_name", allow_null=True)

    class Meta:
        model = OrderEvent
        fields = ["from_status", "status", "status_label", "actor", "note", "created_at"]


class OrderPickupLineSerializer(serializers.ModelSerializer):
    line_id = serializers.IntegerField(source="order_line_id")

    class Meta:
        model = PickupLine
        fields = ["line_id", "quantity"]


class OrderPickupSerializer(serializers.ModelSerializer):
    receipt_number = serializers.CharField()
    lines = OrderPickupLineSerializer(many=True)

    class Meta:
        model = Pickup
        fields = ["id", "receipt_number", "collected_by", "vehicle_plate", "created_at",
                  "lines"]


class OrderDetailSerializer(OrderListSerializer):
    address = AddressSerializer(allow_null=True, help_text=_("Delivery orders only."))
    carrier = CarrierSerializer(allow_null=True)
    pickup_code = serializers.CharField(source="shown_pickup_code", allow_null=True, help_text=_(
        "Pickup orders: the code the collector gives at the depot. Only the buyer company "
        "and staff see it."))
    pickup_code_expired = serializers.BooleanField()
    lines = OrderLineSerializer(many=True)
    events = OrderEventSerializer(many=True, help_text=_("The timeline, oldest first."))
    pickups = OrderPickupSerializer(many=True)

    class Meta(OrderListSerializer.Meta):
        fields = [*OrderListSerializer.Meta.fields, "address", "carrier", "tracking_number",
                  "notes", "pickup_code", "pickup_code_expires_on", "pickup_code_expired",
                  "lines", "events", "pickups"]


class CheckoutSerializer(serializers.Serializer):
    fulfilment = serializers.ChoiceField(choices=Order.Fulfilment.choices)
    address_id = id_field(required=False, allow_null=True, help_text=_(
        "Delivery: an address of your company's book (GET /addresses/)."))
    depot_id = id_field(required=False, allow_null=True, help_text=_(
        "Pickup: the depot of the seller that holds the goods."))
    carrier_id = id_field(required=False, allow_null=True, help_text=_(
        "Delivery: a carrier (GET /carriers/); dangerous goods need a hazmat-qualified one."))
    payment_method = serializers.ChoiceField(choices=Order.PaymentMethod.choices)
    po_number = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                      default="")
    requested_date = serializers.DateField(required=False, allow_null=True, default=None)
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True,
                                  default="")


class OrderCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True,
                                   default="", help_text=_("Required for the seller's staff."))


def _order_detail(user, order_id: int) -> dict:
    try:
        order = selectors.order_for_page(user=user, order_id=order_id)
    except Order.DoesNotExist:
        raise Http404 from None
    order.shown_pickup_code = (order.pickup_code or None) if pickup_code_visible_to(
        user, order) else None
    return OrderDetailSerializer(order).data


# --- Serializers: pickups ---------------------------------------------------------------------


class PickupOrderSerializer(serializers.ModelSerializer):
    """A pickup order as the depot sees it at the gate."""

    status_label = serializers.CharField(source="get_status_display")
    company = CompanyBriefSerializer()
    seller = SellerSerializer()
    pickup_depot = DepotBriefSerializer()
    pickup_code_expired = serializers.BooleanField()
    can_pick_up = serializers.SerializerMethodField(help_text=_(
        "Ready (or partly collected) and the code still valid."))
    lines = OrderLineSerializer(many=True)

    class Meta:
        model = Order
        fields = ["id", "number", "status", "status_label", "company", "seller",
                  "pickup_depot", "pickup_code_expires_on", "pickup_code_expired",
                  "can_pick_up", "lines"]

    def get_can_pick_up(self, order) -> bool:
        return (order.status in (Order.Status.READY, Order.Status.PARTIALLY_PICKED_UP)
                and not order.pickup_code_expired)


class PickupLineSerializer(serializers.ModelSerializer):
    line_id = serializers.IntegerField(source="order_line_id")
    product = ProductBriefSerializer(source="order_line.product")
    unit = serializers.CharField(source="order_line.unit")
    remaining = quantity_field(source="order_line.remaining", help_text=_(
        "What remains of the order line now."))

    class Meta:
        model = PickupLine
        fields = ["line_id", "product", "quantity", "unit", "remaining"]


class PickupSerializer(serializers.ModelSerializer):
    receipt_number = serializers.CharField()
    order_id = serializers.IntegerField()
    order_number = serializers.CharField(source="order.number")
    company = CompanyBriefSerializer(source="order.company")
    depot = DepotBriefSerializer()
    recorded_by = serializers.CharField(source="recorded_by.full_name")
    lines = PickupLineSerializer(many=True)

    class Meta:
        model = Pickup
        fields = ["id", "receipt_number", "order_id", "order_number", "company", "depot",
                  "collected_by", "vehicle_plate", "recorded_by", "created_at", "lines"]


class PickupRecordLineSerializer(serializers.Serializer):
    line_id = id_field()
    quantity = quantity_field(help_text=_("Handed over now; at most what remains."))


class PickupRecordSerializer(serializers.Serializer):
    order_id = id_field()
    collected_by = serializers.CharField(max_length=100, help_text=_(
        "The driver's or collector's name."))
    vehicle_plate = serializers.CharField(max_length=20, required=False, allow_blank=True,
                                          default="")
    lines = PickupRecordLineSerializer(many=True, allow_empty=False)

    def validate_lines(self, lines):
        ids = [line["line_id"] for line in lines]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError(_("Name each order line once."))
        return lines


class PickupLookupQuerySerializer(serializers.Serializer):
    code = serializers.CharField(max_length=40, help_text=_(
        "As the collector reads it out: case, spaces and dashes do not matter."))


def _pickups_with_lines(qs):
    return qs.prefetch_related("lines__order_line__product__chemical")


# --- Filters ----------------------------------------------------------------------------------


class OrderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Order.Status.choices)
    fulfilment = django_filters.ChoiceFilter(choices=Order.Fulfilment.choices)
    placed_after = django_filters.DateFilter(field_name="placed_at", lookup_expr="date__gte",
                                             label=_("Placed on or after (date)"))
    placed_before = django_filters.DateFilter(field_name="placed_at", lookup_expr="date__lte",
                                              label=_("Placed on or before (date)"))
    q = django_filters.CharFilter(method="filter_q", max_length=64,
                                  label=_("Order number or PO number contains"))

    class Meta:
        model = Order
        fields = ["status", "fulfilment", "placed_after", "placed_before", "q"]

    def filter_q(self, queryset, name, value: str):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(number__icontains=value) | Q(po_number__icontains=value))


class PickupFilter(django_filters.FilterSet):
    order = django_filters.NumberFilter(field_name="order_id", label=_("Order id"))

    class Meta:
        model = Pickup
        fields = ["order"]


# --- Views: cart ------------------------------------------------------------------------------


class CartView(APIView):
    """The caller's cart with today's prices for its company."""

    @extend_schema(responses=CartSerializer)
    def get(self, request):
        return Response(_cart_body(request.user))


class CartLineView(APIView):
    """One product's line in the caller's cart."""

    @extend_schema(request=CartLineQuantitySerializer,
                   responses={200: CartSerializer, 400: ERROR_400},
                   description=_("Set the quantity of a product in the cart (replacing any "
                                 "earlier one); 0 removes it. Answers with the whole cart."))
    def put(self, request, product_id: int):
        data = CartLineQuantitySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.cart_line_set(user=request.user, product_id=product_id,
                               quantity=data.validated_data["quantity"])
        return Response(_cart_body(request.user))

    @extend_schema(responses={204: None}, description=_("Take the product out of the cart."))
    def delete(self, request, product_id: int):
        services.cart_line_remove(user=request.user, product_id=product_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Views: orders ----------------------------------------------------------------------------


class _PaginatedGetSchema(AutoSchema):
    """Only the GET list is paginated: placing orders answers a plain list of them."""

    def _get_paginator(self):
        return super()._get_paginator() if self.method == "GET" else None


@extend_schema_view(get=extend_schema(description=_(
    "Orders the caller may see: a buyer its company's, staff their subsidiary's; newest first.")))
class OrderListView(generics.ListAPIView):
    serializer_class = OrderListSerializer
    filterset_class = OrderFilter
    schema = _PaginatedGetSchema()

    def get_queryset(self):
        return selectors.orders_visible_to(self.request.user).select_related("pickup_depot")

    @extend_schema(
        operation_id="orders_place",
        parameters=[IDEMPOTENCY_HEADER],
        request=CheckoutSerializer,
        responses={
            201: OpenApiResponse(OrderDetailSerializer(many=True),
                                 description=_("Placed: one order per seller.")),
            200: OpenApiResponse(OrderDetailSerializer(many=True),
                                 description=_("A replay of the key: the orders it placed.")),
            400: ERROR_400,
        },
        description=_("Place the caller's cart: one order per seller, today's prices, stock "
                      "reserved, cart emptied."),
    )
    def post(self, request):
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            raise DomainError(_("Send an Idempotency-Key header (1 to 64 characters, a new "
                                "one for every order you mean to place)."),
                              field="idempotency_key", code="idempotency_key")
        data = CheckoutSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # Only the status code depends on this check: should a concurrent request with the
        # same key slip in between, the unique constraint still makes the service replay.
        replay = Checkout.objects.filter(user=request.user, idempotency_key=key).exists()
        orders = services.checkout_place(user=request.user, idempotency_key=key,
                                         **data.validated_data)
        body = [_order_detail(request.user, order.pk) for order in orders]
        return Response(body, status=status.HTTP_200_OK if replay else status.HTTP_201_CREATED)


class OrderDetailView(APIView):
    @extend_schema(responses={200: OrderDetailSerializer, 404: ERROR_404}, description=_(
        "One order with its lines (bought, picked up, remaining), timeline and pickups."))
    def get(self, request, pk: int):
        return Response(_order_detail(request.user, pk))


class OrderCancelView(APIView):
    @extend_schema(request=OrderCancelSerializer,
                   responses={200: OrderDetailSerializer, 400: ERROR_400, 404: ERROR_404,
                              409: ERROR_409},
                   description=_("Cancel the order and release its stock: the buyer before "
                                 "the seller confirms, the seller's staff (with a reason) "
                                 "until it is paid."))
    def post(self, request, pk: int):
        data = OrderCancelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.order_cancel(order_id=pk, actor=request.user,
                                  reason=data.validated_data["reason"])
        except Order.DoesNotExist:
            raise Http404 from None
        return Response(_order_detail(request.user, pk))


# --- Views: what a checkout needs -------------------------------------------------------------


class AddressListView(generics.ListAPIView):
    """The caller's company's address book, the default first."""

    serializer_class = AddressSerializer
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator's request
            return Address.objects.none()
        return selectors.addresses_of(self.request.user)


class CarrierListView(generics.ListAPIView):
    """Active carriers; dangerous goods ship only with a hazmat-qualified one."""

    serializer_class = CarrierSerializer
    pagination_class = None
    queryset = Carrier.objects.filter(is_active=True)


# --- Views: pickups ---------------------------------------------------------------------------


class PickupLookupView(APIView):
    """A depot operator looks up the pickup code a collector gives."""

    @extend_schema(parameters=[PickupLookupQuerySerializer],
                   responses={200: PickupOrderSerializer, 400: ERROR_400, 404: ERROR_404},
                   description=_("The pickup order of this code with what remains of each "
                                 "line, if it is to be collected at a depot the caller runs."))
    def get(self, request):
        query = PickupLookupQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        code = services.normalize_pickup_code(query.validated_data["code"])
        order = selectors.pickup_order_for_code(user=request.user, code=code)
        if order is None:
            raise Http404
        prefetch_related_objects([order], "lines__product__chemical", "lines__depot")
        return Response(PickupOrderSerializer(order).data)


@extend_schema_view(get=extend_schema(description=_(
    "Pickups at the depots the caller runs, or of its company's orders; newest order first.")))
class PickupListView(generics.ListAPIView):
    serializer_class = PickupSerializer
    filterset_class = PickupFilter

    def get_queryset(self):
        return _pickups_with_lines(selectors.pickups_visible_to(self.request.user)).order_by(
            "-created_at", "-pk")

    @extend_schema(request=PickupRecordSerializer,
                   responses={201: PickupSerializer, 400: ERROR_400, 404: ERROR_404,
                              409: ERROR_409},
                   description=_("Record what the collector takes now: some or all of what "
                                 "remains of each line (409 when more than remains)."))
    def post(self, request):
        data = PickupRecordSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            pickup = services.pickup_record(
                actor=request.user, order_id=values["order_id"],
                quantities={line["line_id"]: line["quantity"] for line in values["lines"]},
                collected_by=values["collected_by"], vehicle_plate=values["vehicle_plate"],
            )
        except Order.DoesNotExist:
            raise Http404 from None
        pickup = _pickups_with_lines(selectors.pickups_visible_to(request.user)).get(
            pk=pickup.pk)
        return Response(PickupSerializer(pickup).data, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("cart/", CartView.as_view(), name="api-cart"),
    path("cart/lines/<int:product_id>/", CartLineView.as_view(), name="api-cart-line"),
    path("orders/", OrderListView.as_view(), name="api-orders"),
    path("orders/<int:pk>/", OrderDetailView.as_view(), name="api-order"),
    path("orders/<int:pk>/cancel/", OrderCancelView.as_view(), name="api-order-cancel"),
    path("addresses/", AddressListView.as_view(), name="api-addresses"),
    path("carriers/", CarrierListView.as_view(), name="api-carriers"),
    path("pickups/", PickupListView.as_view(), name="api-pickups"),
    path("pickups/lookup/", PickupLookupView.as_view(), name="api-pickup-lookup"),
]
