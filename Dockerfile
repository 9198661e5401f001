# GrantFlow: gunicorn serving the installed wheel; the locked dependencies first (a cached layer).
FROM python:3.11-slim AS build
WORKDIR /src
COPY . .
RUN pip install --no-cache-dir build==1.6.1 && python -m build --wheel --outdir /dist .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    GRANTFLOW_INSTANCE_PATH=/var/lib/grantflow
RUN useradd --system --home-dir /var/lib/grantflow --create-home grantflow
COPY requirements/main.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt
COPY --from=build /dist/*.whl /tmp/
RUN pip install --no-cache-dir --no-deps /tmp/grantflow-*.whl && rm /tmp/*.whl /tmp/requirements.txt
USER grantflow
WORKDIR /var/lib/grantflow
EXPOSE 8000
# Settings come from the environment (DATABASE_URL, SECRET_KEY, ...: deploy/grantflow.env.example).
CMD ["gunicorn", "-c", "python:app.gunicorn_conf", "--workers", "2", "--bind", "0.0.0.0:8000", "app:create_app()"]
