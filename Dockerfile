FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=chemmall.settings_production
RUN apt-get update && apt-get install -y --no-install-recommends gettext curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
RUN pip install --upgrade pip && pip install -e .
COPY . .
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput -v0
RUN useradd --create-home chemmall && mkdir -p /app/var && chown -R chemmall /app/var
USER chemmall
EXPOSE 8000
CMD ["gunicorn", "chemmall.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4", "--access-logfile", "-"]
