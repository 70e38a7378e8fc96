"""Model permissions each role's group gets, as "app_label.codename".

Every app may have a `permissions.py` with a ROLE_PERMISSIONS dict of the same shape;
`roles_sync` merges them, so higher apps add their models without accounts importing them.
Permissions say what a role may do to a kind of object; the selectors say which objects.
"""

from .models import Role

_VIEW = "view"
_ALL = ("view", "add", "change", "delete")


def _perms(model: str, actions=("view",)) -> set[str]:
    return {f"accounts.{action}_{model}" for action in actions}


ROLE_PERMISSIONS: dict[str, set[str]] = {
    Role.BUYER: set(),
    Role.DEALER: set(),
    Role.CCO: _perms("company") | _perms("region") | _perms("depot") | _perms("organization"),
    Role.DEPOT_OPERATOR: _perms("depot"),
    Role.FINANCE: (
        _perms("company", ("view", "change")) | _perms("membership") | _perms("region")
        | _perms("organization") | _perms("depot")
    ),
    Role.SUBSIDIARY_MANAGER: (
        _perms("company") | _perms("membership") | _perms("region")
        | _perms("organization", ("view", "change")) | _perms("depot", ("view", "add", "change"))
        # Calendars are shared between organisations: HQ edits them, subsidiaries read them.
        | _perms("user", ("view",)) | _perms("workingcalendar") | _perms("calendarday")
    ),
    Role.HQ_MANAGER: (
        _perms("company", ("view", "change")) | _perms("membership") | _perms("region")
        | _perms("organization", ("view", "add", "change")) | _perms("depot", _ALL)
        | _perms("user", ("view",)) | _perms("workingcalendar", _ALL)
        | _perms("calendarday", _ALL)
    ),
}
