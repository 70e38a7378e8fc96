"""Uploaded documents (licences, SDS, inquiry attachments): the kind is sniffed from the
content with `filetype`, never trusted from the name or the browser's content type, and
the stored name is ours. Files live under MEDIA_ROOT (var/, outside the web root) and are
served only by views that check who may see them."""

import secrets

import filetype
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

DOCUMENT_MAX_BYTES = 10 * 1024 * 1024
# What a licence scan, an SDS or a COA may be: sniffed MIME type → stored extension.
DOCUMENT_KINDS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}


def document_kind(upload) -> str | None:
    """'pdf', 'png' or 'jpg' from the file's first bytes; None for anything else."""
    head = upload.read(261)  # what filetype needs to recognise every kind it knows
    upload.seek(0)
    guess = filetype.guess(head)
    return DOCUMENT_KINDS.get(guess.mime) if guess is not None else None


def document_problem(upload) -> str | None:
    """Why the upload is not an acceptable document, or None."""
    if upload.size > DOCUMENT_MAX_BYTES:
        return _("The file is larger than 10 MB.")
    if document_kind(upload) is None:
        return _("Attach a PDF, PNG or JPEG file.")
    return None


def document_rename(upload, *, prefix: str) -> None:
    """Give the accepted upload a random name with its sniffed extension."""
    upload.name = f"{prefix}-{secrets.token_hex(8)}.{document_kind(upload)}"


def validate_document(upload) -> None:
    """Model/form field validator (the SDS in the admin)."""
    if getattr(upload, "_committed", False):
        return  # a file stored before: it was checked when it came in
    problem = document_problem(upload)
    if problem:
        raise ValidationError(problem, code="bad_document")
