"""Domain errors raised by services; the API and views turn them into clear answers.

A service raises `DomainError` (400) for a request that cannot be done as asked, or
`ConflictError` (409) when the state of the data forbids it (already cancelled, taken by
someone else). `field` names the input at fault when there is one.
"""


class DomainError(Exception):
    status_code = 400
    default_code = "invalid"

    def __init__(self, message, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code or self.default_code

    def as_dict(self) -> dict:
        key = self.field or "detail"
        return {key: [str(self.message)] if self.field else str(self.message), "code": self.code}


class ConflictError(DomainError):
    status_code = 409
    default_code = "conflict"
