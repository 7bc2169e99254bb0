#!/usr/bin/env bash
# Switchboard's container images, built with Debian's buildah (`--isolation chroot`, no daemon)
# on a Debian base that mmdebstrap makes from this machine's apt sources: no image registry is
# needed. Used by `make images`, `make images-push` and tests/images.
#
#   scripts/images.sh build       the base (when missing), then one image per service and the
#                                 console's image, each with its size
#   scripts/images.sh base        make or reuse the base image only; prints its name
#   scripts/images.sh names       the image references `build` makes, one a line
#   scripts/images.sh push DEST [buildah push options]
#                                 copy them to DEST/<name>:<tag>, DEST a containers-transports
#                                 prefix: docker://registry.example-chain.example/switchboard
#   scripts/images.sh rmi         remove the images tagged IMAGE_TAG (the base and the layer
#                                 cache stay, so the next build is quick)
#
# Environment:
#   IMAGE_TAG        the tag (default: the workspace version in pyproject.toml, as the
#                    Kubernetes overlays expect)
#   BASE_IMAGE       build on this image instead of the mmdebstrap one (a chain's own registry's
#                    Debian bookworm with python3 and apt)
#   BASE_APT_SOURCES the apt sources the base is made from (default: this machine's Debian
#                    sources, /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list)
#
# The base is rebuilt only when its recipe (the mmdebstrap arguments below and the apt sources)
# changes: the recipe's hash names both the cached tarball (.cache/images/, git-ignored) and the
# image tag. Service images reuse buildah's layer cache (`--layers`) and a uv cache mount, so a
# code change rebuilds only the layers from `COPY libs/` on.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
CACHE="$REPO/.cache/images"
NAMESPACE=switchboard
SERVICES=(telephony booking crm-touch analytics notify)
BASE_REPOSITORY=localhost/switchboard/base
BASE_SUITE=bookworm

die() { echo "images: $*" >&2; exit 1; }

# The base's recipe. Its text is hashed: change anything here and the base is made anew.
# minbase: Essential and required packages (apt included, which the builder stage uses);
# merged /usr through mmdebstrap's hook rather than the usrmerge package (and the perl it pulls
# in); no manuals, no translations, no package lists left behind.
BASE_PACKAGES=python3,ca-certificates
# The base keeps the package versions it was made with: raise this to make it anew with Debian's
# latest (security) updates.
BASE_REVISION=1
MMDEBSTRAP_ARGS=(
    --variant=minbase
    --include="$BASE_PACKAGES"
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
    --aptopt='Acquire::Languages "none"'
    --dpkgopt='path-exclude=/usr/share/man/*'
    --dpkgopt='path-exclude=/usr/share/doc/*'
    --dpkgopt='path-include=/usr/share/doc/*/copyright'
    --dpkgopt='path-exclude=/usr/share/locale/*'
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*'
    --format=tar
)

image_tag() {
    if [[ -n "${IMAGE_TAG:-}" ]]; then
        echo "$IMAGE_TAG"
    else
        sed -n 's/^version *= *"\(.*\)"/\1/p' "$REPO/pyproject.toml" | head -n 1
    fi
}

names() {
    local tag name
    tag="$(image_tag)"
    [[ -n "$tag" ]] || die "no IMAGE_TAG and no version in pyproject.toml"
    for name in "${SERVICES[@]}" console; do
        echo "$NAMESPACE/$name:$tag"
    done
}

apt_sources() {
    local candidate
    for candidate in "${BASE_APT_SOURCES:-}" /etc/apt/sources.list.d/debian.sources \
        /etc/apt/sources.list; do
        if [[ -n "$candidate" && -s "$candidate" ]]; then
            echo "$candidate"
            return
        fi
    done
    die "no apt sources found; set BASE_APT_SOURCES to a sources.list or deb822 .sources file"
}

# buildah and mmdebstrap are Debian packages: installed when missing, as scripts/infra.sh
# installs PostgreSQL and Redis.
require() {
    [[ $(id -u) -eq 0 ]] || die "buildah --isolation chroot and mmdebstrap need root"
    if ! command -v buildah >/dev/null 2>&1 || ! command -v mmdebstrap >/dev/null 2>&1; then
        echo "images: apt-get install buildah mmdebstrap" >&2
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah mmdebstrap >/dev/null \
            || die "apt-get install -y buildah mmdebstrap failed"
    fi
}

# Makes (or finds) the base image and prints its name; progress goes to stderr.
base() {
    require
    local sources hash image tarball container
    sources="$(apt_sources)"
    hash="$(
        {
            echo "$BASE_SUITE $BASE_REVISION"
            printf '%s\n' "${MMDEBSTRAP_ARGS[@]}"
            cat "$sources"
        } | sha256sum | cut -c1-12
    )"
    image="$BASE_REPOSITORY:$BASE_SUITE-$hash"
    if ! buildah inspect --type image "$image" >/dev/null 2>&1; then
        mkdir -p "$CACHE"
        tarball="$CACHE/base-$BASE_SUITE-$hash.tar"
        if [[ ! -s "$tarball" ]]; then
            echo "images: making the $BASE_SUITE base with mmdebstrap (recipe $hash)" >&2
            # Tarballs of older recipes are of no further use.
            rm -f "$CACHE"/base-*.tar "$CACHE"/base-*.tar.part
            mmdebstrap --quiet "${MMDEBSTRAP_ARGS[@]}" "$BASE_SUITE" - "$sources" \
                >"$tarball.part" || die "mmdebstrap failed"
            mv "$tarball.part" "$tarball"
        fi
        echo "images: importing $tarball as $image" >&2
        container="$(buildah from scratch)"
        buildah add --quiet "$container" "$tarball" / >/dev/null
        buildah config --env LANG=C.UTF-8 --cmd /usr/bin/python3 \
            --label org.opencontainers.image.title=switchboard-base \
            --label "org.opencontainers.image.description=Debian $BASE_SUITE with Debian's python3 (recipe $hash)" \
            "$container"
        buildah commit --quiet --rm "$container" "$image" >/dev/null
        # Bases of older recipes: untagged, so that `buildah rmi --prune` can reclaim them.
        local old
        for old in $(buildah images --format '{{.Name}}:{{.Tag}}'); do
            if [[ "$old" == "$BASE_REPOSITORY:$BASE_SUITE-"* && "$old" != "$image" ]]; then
                buildah rmi "$old" >/dev/null 2>&1 || true
            fi
        done
    fi
    # The Dockerfile's default BASE_IMAGE, for a plain `buildah bud` by hand.
    buildah tag "$image" "$BASE_REPOSITORY:$BASE_SUITE"
    echo "$image"
}

build() {
    require
    [[ -s "$REPO/console/dist/index.html" ]] \
        || die "console/dist is missing: make console-build (make images does it first)"
    local started base_image tag name
    started=$SECONDS
    local common=(bud --isolation chroot --layers)
    if [[ -n "${BASE_IMAGE:-}" ]]; then
        base_image="$BASE_IMAGE"
    else
        base_image="$(base)"
        # Made here: no registry to ask about it.
        common+=(--pull=never)
    fi
    common+=(--build-arg "BASE_IMAGE=$base_image")
    tag="$(image_tag)"
    # The CA bundle this machine trusts (a TLS-inspecting proxy's CA, say) reaches the
    # builder's pip and uv as a secret, never a layer (see the Dockerfile).
    local ca_bundle="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"
    if [[ -s "$ca_bundle" ]]; then
        common+=(--secret "id=ca-certificates,src=$ca_bundle")
    fi
    for name in "${SERVICES[@]}"; do
        echo "images: $NAMESPACE/$name:$tag" >&2
        buildah "${common[@]}" --build-arg "SERVICE=$name" \
            --tag "$NAMESPACE/$name:$tag" "$REPO" >&2
    done
    echo "images: $NAMESPACE/console:$tag" >&2
    buildah "${common[@]}" --target console \
        --tag "$NAMESPACE/console:$tag" "$REPO" >&2
    echo
    echo "base $base_image"
    for name in "${SERVICES[@]}" console; do
        # One line per tag of that image: the size is the same on each.
        printf '%-40s %s\n' "$NAMESPACE/$name:$tag" \
            "$(buildah images --format '{{.Size}}' "$NAMESPACE/$name:$tag" | head -n 1)"
    done
    echo "(the five service images share every layer but their last: a registry stores them once)"
    echo "built in $((SECONDS - started)) s"
}

push() {
    require
    local destination="${1:-}" ref
    [[ -n "$destination" ]] \
        || die "push needs a destination, e.g. docker://registry.example-chain.example/switchboard"
    shift
    for ref in $(names); do
        echo "images: $ref -> $destination/${ref#"$NAMESPACE"/}" >&2
        buildah push "$@" "$ref" "$destination/${ref#"$NAMESPACE"/}"
    done
}

rmi() {
    require
    local ref
    for ref in $(names); do
        if buildah inspect --type image "$ref" >/dev/null 2>&1; then
            buildah rmi "$ref" >/dev/null
        fi
    done
}

command="${1:-}"
shift || true
case "$command" in
    names) names ;;
    base | build | push | rmi)
        # One build at a time per checkout: two would race on the base tarball.
        mkdir -p "$CACHE"
        exec 9>"$CACHE/lock"
        flock 9
        "$command" "$@"
        ;;
    *) die "usage: scripts/images.sh build | base | names | push DEST [options] | rmi" ;;
esac
