"""Structured logs that tie a line to its request or task.

Every request gets an id (the proxy's X-Request-ID when it sends a sane one, else a new
one), echoed in the response header. Log records carry it, with the user and, in a Celery
worker, the task's name and id; a task queued while serving a request carries the
request's id in its headers, so a buyer's click and the mail it caused share one id.
"""

import contextvars
import logging
import re
import time
import uuid

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
task_var: contextvars.ContextVar[tuple[str, str]] = contextvars.ContextVar(
    "task", default=("", ""))

HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")  # what we accept from the proxy

access_log = logging.getLogger("chemmall.request")


class RequestIdMiddleware:
    """Sets the request id, logs one structured line per request (method, path, status,
    duration, user) and echoes the id back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(HEADER, "")
        request_id = incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        request.request_id = request_id
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[HEADER] = request_id
            user = getattr(request, "user", None)
            access_log.info("request", extra={
                "method": request.method, "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "user_id": user.pk if user is not None and user.is_authenticated else None,
            })
            return response
        finally:
            request_id_var.reset(token)


class ContextFilter(logging.Filter):
    """Adds request_id, task and task_id to every record (empty outside of them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = getattr(record, "request_id", None) or request_id_var.get()
        record.task, record.task_id = task_var.get()
        return True


def celery_signals_connect() -> None:
    """Carry the request id into tasks and name the task in the worker's log records."""
    from celery.signals import before_task_publish, task_postrun, task_prerun

    @before_task_publish.connect(weak=False)
    def _publish(headers=None, **kwargs):
        if headers is not None and request_id_var.get():
            headers.setdefault("request_id", request_id_var.get())

    @task_prerun.connect(weak=False)
    def _prerun(task_id=None, task=None, **kwargs):
        request_id = getattr(task.request, "request_id", None) or task_id or ""
        request_id_var.set(request_id)
        task_var.set((task.name if task else "", task_id or ""))

    @task_postrun.connect(weak=False)
    def _postrun(**kwargs):
        request_id_var.set("")
        task_var.set(("", ""))
