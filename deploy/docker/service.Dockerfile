# syntax=docker/dockerfile:1.7
# One image per Mosaic service, from the workspace lock (ADR 5). Build from the repository root:
#   docker build -f deploy/docker/service.Dockerfile --build-arg SERVICE=evidence -t mosaic/evidence .
# SERVICE is evidence | mastery | scheduling | notify | analytics; SERVICE=dev builds the tools image
# (mosaic-dev: topic creation, demo seed, dev keys) with every workspace package in it.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.9.5

FROM ${UV_IMAGE} AS uv

# --- build: resolve the locked dependencies, then install the service as a wheel ------------
FROM ${PYTHON_IMAGE} AS build
ARG SERVICE
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# Dependencies first: this layer is rebuilt only when the lock or a pyproject changes.
COPY pyproject.toml uv.lock ./
COPY libs/events/pyproject.toml libs/events/
COPY libs/runtime/pyproject.toml libs/runtime/
COPY deploy/pyproject.toml deploy/
COPY services/evidence/pyproject.toml services/evidence/
COPY services/mastery/pyproject.toml services/mastery/
COPY services/scheduling/pyproject.toml services/scheduling/
COPY services/notify/pyproject.toml services/notify/
COPY services/analytics/pyproject.toml services/analytics/
# ${scope} is one or two words on purpose (--all-packages | --package mosaic-<svc>): left unquoted.
# hadolint ignore=SC2086
RUN --mount=type=cache,target=/root/.cache/uv \
    test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=<evidence|mastery|scheduling|notify|analytics|dev>"; exit 1; } \
    && if [ "${SERVICE}" = dev ]; then scope="--all-packages"; else scope="--package mosaic-${SERVICE}"; fi \
    && uv sync --frozen --no-dev --no-install-workspace ${scope}
COPY libs libs
COPY services services
COPY deploy/src deploy/src
# hadolint ignore=SC2086
RUN --mount=type=cache,target=/root/.cache/uv \
    if [ "${SERVICE}" = dev ]; then scope="--all-packages"; else scope="--package mosaic-${SERVICE}"; fi \
    && uv sync --frozen --no-dev --no-editable ${scope}

# --- runtime: the virtualenv only, as an unprivileged user ---------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
RUN groupadd --system --gid 10001 mosaic \
    && useradd --system --uid 10001 --gid mosaic --home-dir /app --no-create-home mosaic \
    && mkdir -p /app/data && chown 10001:10001 /app/data
COPY --from=build --chown=10001:10001 /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    MOSAIC_SERVICE=${SERVICE} MOSAIC_DATA_DIR=/app/data
WORKDIR /app
USER 10001:10001
EXPOSE 8080
# exec: uvicorn is PID 1 and receives SIGTERM, so in-flight batches finish before exit.
CMD ["sh", "-c", "exec uvicorn \"mosaic_${MOSAIC_SERVICE}.main:app\" --host 0.0.0.0 --port 8080 --proxy-headers --no-server-header --timeout-graceful-shutdown 30"]
