#!/usr/bin/env bash
# Apply an overlay in the order Switchboard needs, with plain kubectl:
#   1. everything but the services' Deployments (namespace, config, policies, ingress,
#      in-cluster Kafka/PostgreSQL/Redis, and the migration Jobs of the new release);
#   2. wait until every migration Job has completed;
#   3. everything, which rolls the Deployments out onto the migrated databases.
#
#   deploy/k8s/rollout.sh deploy/k8s/overlays/example-chain
#
# Finished migration Jobs are deleted first: a Job's pod template cannot change, so the new
# release's Jobs can only be created once the old ones are gone. Needs kubectl >= 1.27.
set -euo pipefail

overlay=${1:?usage: $0 OVERLAY_DIR   (e.g. deploy/k8s/overlays/example-chain)}
timeout=${MIGRATION_TIMEOUT:-30m}
ns=$(sed -n 's/^namespace:[[:space:]]*\([^[:space:]#]*\).*/\1/p' "$overlay/kustomization.yaml")
[[ -n $ns ]] || { echo "no 'namespace:' in $overlay/kustomization.yaml" >&2; exit 1; }
migrations='app.kubernetes.io/component=migration'

echo "== $ns: removing finished migration Jobs of the previous release"
kubectl -n "$ns" delete job -l "$migrations" --ignore-not-found --wait=true

echo "== $ns: infrastructure, configuration and migration Jobs"
kubectl apply -k "$overlay" -l 'app.kubernetes.io/component notin (server,web)'

echo "== $ns: waiting for the migrations (up to $timeout; PostgreSQL may still be starting)"
if ! kubectl -n "$ns" wait --for=condition=complete job -l "$migrations" --timeout="$timeout"; then
    kubectl -n "$ns" get jobs -l "$migrations" >&2
    kubectl -n "$ns" logs -l "$migrations" --tail=50 --prefix >&2 || true
    echo "a migration did not complete: the services were not rolled out" >&2
    exit 1
fi

echo "== $ns: services"
kubectl apply -k "$overlay"
for deployment in $(kubectl -n "$ns" get deployment -l app.kubernetes.io/part-of=switchboard -o name); do
    kubectl -n "$ns" rollout status "$deployment" --timeout=10m
done
echo "== $ns: rolled out"
