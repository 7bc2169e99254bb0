# The images of Switchboard's services and of the operator console, from the workspace lock file.
# `make images` builds them all with buildah (scripts/images.sh); by hand:
#
#   buildah bud --isolation chroot --layers --build-arg BASE_IMAGE=<base> \
#       --build-arg SERVICE=telephony -t switchboard/telephony:0.1.0 .
#   buildah bud --isolation chroot --layers --build-arg BASE_IMAGE=<base> \
#       --target console -t switchboard/console:0.1.0 .          # needs console/dist
#
# SERVICE is one of telephony, booking, crm-touch, analytics, notify. A service image runs
# `switchboard-$SERVICE serve --host 0.0.0.0` as uid 10001; `migrate` instead of `serve`
# applies the service's migrations (the Kubernetes migration Jobs do that). The console image
# serves console/dist with `switchboard-console` on :8080, the /api relay off (the ingress
# routes /api in Kubernetes).
#
# BASE_IMAGE: Debian bookworm with Debian's python3 (/usr/bin/python3) and apt, nothing else
# needed. scripts/images.sh makes one with mmdebstrap from the machine's own apt sources; a
# chain's CI may pass its own registry's copy instead. No other registry is asked for anything:
# Python packages come from PyPI through uv, exactly as uv.lock pins them (hashes checked).
#
# Every Python service gets the same virtual environment (every workspace package and their
# locked dependencies): the images share all their layers but the last, so five services build
# and push as one, and only their entry point differs.
ARG BASE_IMAGE=localhost/switchboard/base:bookworm

# --- builder: uv resolves nothing, it installs exactly what uv.lock says ---------------------
FROM ${BASE_IMAGE} AS builder
ARG UV_VERSION=0.13.9
# Behind a TLS-inspecting proxy the build is given the host's CA bundle as the secret
# `ca-certificates` (scripts/images.sh passes SSL_CERT_FILE's): pip and uv use it in this stage
# only; a secret is never part of a layer, and the runtime keeps Debian's own CA list.
ENV CA_SECRET=/run/secrets/ca-certificates
# uv from PyPI, with the pip that Debian's python3-venv brings; none of it reaches the runtime.
RUN --mount=type=secret,id=ca-certificates \
    if [ -s "$CA_SECRET" ]; then export PIP_CERT="$CA_SECRET"; fi \
    && apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/uv \
    && /opt/uv/bin/pip install --quiet --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}"

# Compile bytecode at build time (the root filesystem is read-only at run time), copy instead of
# hard-linking from uv's cache, use Debian's Python and never download another, and install
# into /app/.venv, which is all the runtime takes.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON=/usr/bin/python3 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src

# 1. Third-party dependencies only. With --frozen, uv needs just the root pyproject.toml and
#    the lock file, so this layer is rebuilt when the lock changes, not on every code change.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv --mount=type=secret,id=ca-certificates \
    if [ -s "$CA_SECRET" ]; then export SSL_CERT_FILE="$CA_SECRET"; fi \
    && /opt/uv/bin/uv sync --frozen --no-dev --all-packages --no-install-workspace

# 2. The services and the workspace libraries, installed as ordinary (non-editable) packages so
#    that the virtual environment does not point back into /src; then a smoke test that every
#    command imports.
COPY libs/ libs/
COPY services/ services/
RUN --mount=type=cache,target=/root/.cache/uv --mount=type=secret,id=ca-certificates \
    if [ -s "$CA_SECRET" ]; then export SSL_CERT_FILE="$CA_SECRET"; fi \
    && /opt/uv/bin/uv sync --frozen --no-dev --all-packages --no-editable \
    && for command in telephony booking crm-touch analytics notify console; do \
        /app/.venv/bin/switchboard-$command --help >/dev/null || exit 1; \
    done

# --- runtime: Debian's Python and the virtual environment, nothing to build or install with --
FROM ${BASE_IMAGE} AS runtime
RUN groupadd --system --gid 10001 switchboard \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin switchboard
# Owned by root and not writable by the service user.
COPY --from=builder /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /app

# --- the operator console: the built bundle behind the console gateway ------------------------
FROM runtime AS console
LABEL org.opencontainers.image.title="switchboard-console" \
      org.opencontainers.image.description="Switchboard operator console"
COPY console/dist/ /app/console/
# In Kubernetes the ingress routes /api to the services: the gateway serves the bundle only.
ENV SWITCHBOARD_SERVICE=console \
    CONSOLE_STATIC_DIR=/app/console \
    CONSOLE_PROXY_ENABLED=false \
    CONSOLE_HTTP_HOST=0.0.0.0 \
    CONSOLE_HTTP_PORT=8080
USER 10001:10001
ENTRYPOINT ["/app/.venv/bin/switchboard-console"]
CMD ["serve"]

# --- a service (the default target) ------------------------------------------------------------
FROM runtime AS service
ARG SERVICE
# One entry point name for every service image (a symlink), so ENTRYPOINT needs no shell to
# expand SERVICE.
RUN case "${SERVICE}" in \
        telephony|booking|crm-touch|analytics|notify) ;; \
        *) echo "build with --build-arg SERVICE=<telephony|booking|crm-touch|analytics|notify>" \
                "(the console: --target console)" >&2; exit 1 ;; \
    esac \
    && ln -s "switchboard-${SERVICE}" /app/.venv/bin/switchboard-service
LABEL org.opencontainers.image.title="switchboard-${SERVICE}" \
      org.opencontainers.image.description="Switchboard ${SERVICE} service"
ENV SWITCHBOARD_SERVICE=${SERVICE}
USER 10001:10001
ENTRYPOINT ["/app/.venv/bin/switchboard-service"]
CMD ["serve", "--host", "0.0.0.0"]
