from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from chemmall.errors import DomainError

from . import selectors, services
from .forms import CompanyRegistrationForm, MemberInviteForm, PasswordResetForm


def _safe_next(request) -> str | None:
    """Where to go after registering (e.g. back to an inquiry's private link), if local."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return None


@require_http_methods(["GET", "POST"])
def register(request):
    if request.user.is_authenticated:
        return redirect(_safe_next(request) or "accounts:company")
    form = CompanyRegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.company_register(
                company_name=data["company_name"], uscc=data["uscc"],
                province_code=data["province"], city_code=data["city"] or None,
                address=data["address"], email=data["email"], full_name=data["full_name"],
                password=data["password1"], phone=data["phone"], language=get_language() or "",
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome! Your company is registered."))
            return redirect(_safe_next(request) or "accounts:company")
    status = 400 if form.errors else 200
    return render(request, "accounts/register.html",
                  {"form": form, "next": _safe_next(request) or ""}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def company(request):
    company_id = selectors.user_company_id(request.user)
    if company_id is None:
        raise Http404
    company = selectors.companies_visible_to(request.user).get(pk=company_id)
    is_admin = selectors.user_is_company_admin(user=request.user, company_id=company_id)
    form = MemberInviteForm(request.POST or None) if is_admin else None
    if request.method == "POST":
        if not is_admin:
            raise Http404
        if form.is_valid():
            try:
                invited = services.company_member_invite(
                    company_id=company_id, inviter=request.user,
                    email=form.cleaned_data["email"], full_name=form.cleaned_data["full_name"],
                    make_admin=form.cleaned_data["make_admin"],
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, _("Invitation sent to %(email)s.") % {
                    "email": invited.email})
                return redirect("accounts:company")
    context = {
        "company": company,
        "members": selectors.company_members(company_id=company_id),
        "is_admin": is_admin,
        "form": form,
    }
    return render(request, "accounts/company.html", context,
                  status=400 if form is not None and form.errors else 200)


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetForm
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


class InvitationAcceptView(auth_views.PasswordResetConfirmView):
    """An invited colleague sets a password through the same one-time token mechanism."""

    template_name = "accounts/invitation_accept.html"
    success_url = reverse_lazy("accounts:login")
    post_reset_login = False

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Your password is set. Please sign in."))
        return response
