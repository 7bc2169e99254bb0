#!/usr/bin/env bash
# Regenerate the operator CRD files under tests/deploy/data/ from package registries only.
#
#   Strimzi 0.47.0      Maven Central: io.strimzi:api:0.47.0 (the CRD model classes), run through
#                       io.strimzi:crd-generator:0.45.0 with the arguments of the api-0.47.0 pom.
#   CloudNativePG 1.27.1  Go module proxy: github.com/cloudnative-pg/cloudnative-pg@v1.27.1,
#                       config/crd/bases/ (the controller-gen output shipped in the module).
#
# Needs java + mvn (Maven Central) and go (Go module proxy). Not run by the tests: they read the
# committed files. Run it after bumping a version below, then update README.md beside it.
set -euo pipefail
cd "$(dirname "$0")"

STRIMZI_API_VERSION=0.47.0
# The newest crd-generator on Maven Central not newer than the api; 0.46/0.47 never published theirs.
STRIMZI_GENERATOR_VERSION=0.45.0
CNPG_VERSION=v1.27.1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- Strimzi ---------------------------------------------------------------------------------
cat >"$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.switchboard</groupId><artifactId>strimzi-crds</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>io.strimzi</groupId><artifactId>api</artifactId>
      <version>${STRIMZI_API_VERSION}</version></dependency>
    <dependency><groupId>io.strimzi</groupId><artifactId>crd-generator</artifactId>
      <version>${STRIMZI_GENERATOR_VERSION}</version></dependency>
  </dependencies>
</project>
POM
mvn -q -f "$work/pom.xml" dependency:copy-dependencies -DoutputDirectory="$work/lib"
cp="$(printf '%s:' "$work"/lib/*.jar)"
out="strimzi-${STRIMZI_API_VERSION}"
rm -rf "$out" && mkdir -p "$out"
# Same arguments as the api module's pom (generate-crd-co-install-v1 / -v1-eo executions).
common=(--label app:strimzi --label strimzi.io/crd-install:true --target-kube 1.16+
        --crd-api-version v1 --storage-version v1beta2 --yaml)
java -cp "$cp" io.strimzi.crdgenerator.CrdGenerator "${common[@]}" --api-versions v1beta2 \
    io.strimzi.api.kafka.model.kafka.Kafka="$out/040-Crd-kafka.yaml" \
    io.strimzi.api.kafka.model.nodepool.KafkaNodePool="$out/045-Crd-kafkanodepool.yaml"
java -cp "$cp" io.strimzi.crdgenerator.CrdGenerator "${common[@]}" --api-versions v1alpha1,v1beta1,v1beta2 \
    io.strimzi.api.kafka.model.topic.KafkaTopic="$out/043-Crd-kafkatopic.yaml" \
    io.strimzi.api.kafka.model.user.KafkaUser="$out/044-Crd-kafkauser.yaml"

# --- CloudNativePG ---------------------------------------------------------------------------
dir=$(GOMODCACHE="$work/gomod" GOFLAGS=-modcacherw \
      go mod download -json "github.com/cloudnative-pg/cloudnative-pg@${CNPG_VERSION}" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
out="cloudnative-pg-${CNPG_VERSION#v}"
rm -rf "$out" && mkdir -p "$out"
for crd in clusters databases; do
    cp "$dir/config/crd/bases/postgresql.cnpg.io_${crd}.yaml" "$out/"
done
chmod 644 "$out"/*.yaml
sha256sum strimzi-*/*.yaml cloudnative-pg-*/*.yaml >SHA256SUMS
echo "regenerated: $(wc -l <SHA256SUMS) files (see SHA256SUMS)"
