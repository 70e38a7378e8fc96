"""/api/v1/ routes of accounts: who am I, tokens, regions, sellers, companies, members."""

import django_filters
from django.contrib.auth import authenticate
from django.http import Http404
from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors, services
from .models import Company, Organization, Region, User

# --- Serializers ------------------------------------------------------------------------------


class RegionSerializer(serializers.ModelSerializer):
    parent = serializers.CharField(source="parent_id", allow_null=True)

    class Meta:
        model = Region
        fields = ["code", "level", "parent", "name_zh", "name_en"]


class OrganizationSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)

    class Meta:
        model = Organization
        fields = ["id", "code", "kind", "name", "name_zh", "name_en", "parent",
                  "service_level_hours"]


class CompanySerializer(serializers.ModelSerializer):
    province = serializers.CharField(source="province_id")
    city = serializers.CharField(source="city_id", allow_null=True)

    class Meta:
        model = Company
        fields = ["id", "name", "uscc", "province", "city", "address", "credit_limit",
                  "payment_terms_days", "is_active"]


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    full_name = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    organization = OrganizationSerializer(allow_null=True)
    company = CompanySerializer(allow_null=True)
    is_company_admin = serializers.BooleanField()


class MemberSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="user.id", read_only=True)
    email = serializers.EmailField(source="user.email")
    full_name = serializers.CharField(source="user.full_name", max_length=150)
    is_admin = serializers.BooleanField(default=False)

    def validate_email(self, value: str) -> str:
        # The same answer as the web form: a field error (400), not a conflict.
        if User.objects.filter(email__iexact=value.strip()).exists():
            raise serializers.ValidationError(_("A user with this email already exists."))
        return value


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


# --- Views ------------------------------------------------------------------------------------


class TokenObtainView(APIView):
    """Exchange email + password for an API token (send it as `Authorization: Token …`)."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=TokenRequestSerializer, responses=TokenSerializer)
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # Django's request, not DRF's wrapper: the login throttle (django-axes) flags it.
        user = authenticate(request._request, email=data.validated_data["email"],
                            password=data.validated_data["password"])
        if user is None or not user.is_active:
            raise serializers.ValidationError(
                {"detail": [_("The email or password is not correct.")]})
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class MeView(APIView):
    @extend_schema(responses=MeSerializer)
    def get(self, request):
        user = request.user
        company_id = selectors.user_company_id(user)
        company = Company.objects.filter(pk=company_id).first() if company_id else None
        body = {
            "id": user.pk,
            "email": user.email,
            "full_name": user.full_name,
            "roles": sorted(user.roles),
            "organization": user.organization,
            "company": company,
            "is_company_admin": bool(company_id) and selectors.user_is_company_admin(
                user=user, company_id=company_id),
        }
        return Response(MeSerializer(body).data)


class RegionFilter(django_filters.FilterSet):
    parent = django_filters.CharFilter(field_name="parent_id")

    class Meta:
        model = Region
        fields = ["level", "parent"]


class RegionListView(generics.ListAPIView):
    """All province-level divisions and prefecture-level cities (GB/T 2260); public."""

    permission_classes = [AllowAny]
    serializer_class = RegionSerializer
    queryset = Region.objects.all()
    filterset_class = RegionFilter
    pagination_class = None


class OrganizationListView(generics.ListAPIView):
    """The sellers: headquarters and its active subsidiaries; public."""

    permission_classes = [AllowAny]
    serializer_class = OrganizationSerializer
    queryset = Organization.objects.filter(is_active=True)
    pagination_class = None


class CompanyListView(generics.ListAPIView):
    serializer_class = CompanySerializer
    filterset_fields = ["province", "city", "is_active"]

    def get_queryset(self):
        return selectors.companies_visible_to(self.request.user)


class CompanyDetailView(generics.RetrieveAPIView):
    serializer_class = CompanySerializer

    def get_queryset(self):
        return selectors.companies_visible_to(self.request.user)


class CompanyMembersView(APIView):
    """Members of a company; its admins invite colleagues by POSTing name and email."""

    def _company_id(self, request, pk: int) -> int:
        if not selectors.companies_visible_to(request.user).filter(pk=pk).exists():
            raise Http404
        return pk

    @extend_schema(responses=MemberSerializer(many=True))
    def get(self, request, pk: int):
        company_id = self._company_id(request, pk)
        members = selectors.company_members(company_id=company_id)
        return Response(MemberSerializer(members, many=True).data)

    @extend_schema(request=MemberSerializer, responses={201: MemberSerializer})
    def post(self, request, pk: int):
        company_id = self._company_id(request, pk)
        if not selectors.user_is_company_admin(user=request.user, company_id=company_id):
            raise Http404
        data = MemberSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.company_member_invite(
            company_id=company_id, inviter=request.user,
            email=data.validated_data["user"]["email"],
            full_name=data.validated_data["user"]["full_name"],
            make_admin=data.validated_data["is_admin"],
        )
        return Response(MemberSerializer(user.membership).data, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("auth/token/", TokenObtainView.as_view(), name="api-token"),
    path("me/", MeView.as_view(), name="api-me"),
    path("regions/", RegionListView.as_view(), name="api-regions"),
    path("organizations/", OrganizationListView.as_view(), name="api-organizations"),
    path("companies/", CompanyListView.as_view(), name="api-companies"),
    path("companies/<int:pk>/", CompanyDetailView.as_view(), name="api-company"),
    path("companies/<int:pk>/members/", CompanyMembersView.as_view(), name="api-company-members"),
]
