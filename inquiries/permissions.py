"""Model permissions per role for inquiries (see accounts.permissions)."""

from accounts.models import Role


def _perms(model: str, actions=("view",)) -> set[str]:
    return {f"inquiries.{action}_{model}" for action in actions}


_WORK = ("view", "add", "change")

ROLE_PERMISSIONS = {
    Role.CCO: _perms("inquiry", _WORK) | _perms("quote", _WORK) | _perms("inquiryevent")
    | _perms("cannedreply") | _perms("ccoprofile") | _perms("responsemiss"),
    Role.SUBSIDIARY_MANAGER: _perms("inquiry", _WORK) | _perms("quote", _WORK)
    | _perms("inquiryevent") | _perms("cannedreply", ("view", "add", "change", "delete"))
    | _perms("ccoprofile", ("view", "change")) | _perms("responsemiss"),
    Role.HQ_MANAGER: _perms("inquiry", _WORK) | _perms("quote", _WORK) | _perms("inquiryevent")
    | _perms("cannedreply", ("view", "add", "change", "delete"))
    | _perms("ccoprofile", ("view", "change")) | _perms("responsemiss"),
}
