# One image per Switchboard service, from the workspace lock file:
#
#   docker build --build-arg SERVICE=telephony -t <registry>/switchboard/telephony:<version> .
#
# SERVICE is one of telephony, booking, crm-touch, analytics, notify. The image runs
# `switchboard-$SERVICE serve --host 0.0.0.0` as uid 10001; `migrate` instead of `serve` applies
# the service's migrations (the Kubernetes migration Jobs do that).
#
# Needs BuildKit (Docker's default builder since 23.0) for the uv cache mounts. The base image
# is pinned by tag, as its digest could not be resolved where this file was written; a release
# pipeline should pin the digest of that tag:
#   --build-arg PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:<digest>
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# --- builder: uv resolves nothing, it installs exactly what uv.lock says ---------------------
FROM ${PYTHON_IMAGE} AS builder
ARG SERVICE
ARG UV_VERSION=0.13.9
RUN test -n "${SERVICE}" \
    || { echo "build with --build-arg SERVICE=<telephony|booking|crm-touch|analytics|notify>" >&2; exit 1; }
RUN pip install --no-cache-dir --disable-pip-version-check --root-user-action=ignore "uv==${UV_VERSION}"

# Compile bytecode at build time (the root filesystem is read-only at run time), copy instead of
# hard-linking from uv's cache, use this image's Python and never download another, and
# install into /app/.venv, which is all the final stage takes.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src

# 1. Third-party dependencies only. With --frozen, uv needs just the root pyproject.toml and
#    the lock file, so this layer is rebuilt when the lock changes, not on every code change.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package "switchboard-${SERVICE}"

# 2. The service and the workspace libraries it uses, installed as ordinary (non-editable)
#    packages so that the virtual environment does not point back into /src.
COPY libs/ libs/
COPY services/ services/
#    One entry point name for every image (a symlink), so ENTRYPOINT needs no shell to expand
#    SERVICE; then a smoke test that the command imports.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package "switchboard-${SERVICE}" \
    && ln -s "switchboard-${SERVICE}" /app/.venv/bin/switchboard-service \
    && /app/.venv/bin/switchboard-service --help >/dev/null

# --- runtime: Python and the virtual environment, nothing to build or install with ------------
FROM ${PYTHON_IMAGE}
ARG SERVICE
LABEL org.opencontainers.image.title="switchboard-${SERVICE}" \
      org.opencontainers.image.description="Switchboard ${SERVICE} service"

# pip, setuptools and wheel are not needed to run; removing them removes their CVEs too.
RUN python -m pip uninstall --yes --quiet pip setuptools wheel \
    && groupadd --system --gid 10001 switchboard \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin switchboard

# Owned by root and not writable by the service user.
COPY --from=builder /app/.venv /app/.venv

ENV PATH=/app/.venv/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SWITCHBOARD_SERVICE=${SERVICE}
WORKDIR /app
USER 10001:10001
ENTRYPOINT ["/app/.venv/bin/switchboard-service"]
CMD ["serve", "--host", "0.0.0.0"]
