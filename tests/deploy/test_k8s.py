"""deploy/k8s, checked offline: every overlay renders, every object matches its schema, and the
rules a platform engineer relies on hold.

* kustomize renders each ``deploy/k8s/overlays/*`` (a pinned kustomize, ``go install``-ed into
  the git-ignored ``.cache/bin`` on first use; ``SWITCHBOARD_KUSTOMIZE`` may name another one).
* Built-in kinds are validated against the Kubernetes OpenAPI schemas shipped by
  ``kubernetes-validate`` (strict: unknown fields fail, as ``kubectl apply`` rejects them), for
  the oldest and the newest Kubernetes minor this deployment supports.
* Strimzi and CloudNativePG resources are validated against their CRDs' ``openAPIV3Schema``
  kept in ``tests/deploy/data/`` (see the README there for where each file comes from), made
  strict the same way.
* Then the rules: probes on the real health endpoints, requests and limits, non-root,
  read-only root filesystem, no capabilities, pinned images, Secrets only ever referenced (and
  every reference declared in a ``required-secrets.yaml``), autoscalers, disruption budgets,
  default-deny network policies, the ingress routes and their timeouts, a migration Job and a
  database per service, and a KafkaTopic for every topic and dead-letter topic of the code.
"""

from __future__ import annotations

import copy
import functools
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
DATA = Path(__file__).resolve().parent / "data"

KUSTOMIZE_VERSION = "v5.7.1"
KUSTOMIZE_MODULE = "sigs.k8s.io/kustomize/kustomize/v5"
#: The oldest Kubernetes minor the manifests support (lifecycle.preStop.sleep is on by default
#: from 1.30) and a recent one.
KUBERNETES_VERSIONS = ("1.30.0", "1.34.0")

YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Svc:
    """What the manifests must say about one Python service."""

    def __init__(self, name: str, port: int, *, autoscaled: bool, secrets: set[str]) -> None:
        self.name = name
        self.port = port
        self.prefix = name.upper().replace("-", "_") + "_"
        self.database = "switchboard_" + name.replace("-", "_")
        self.autoscaled = autoscaled
        self.secrets = secrets


SERVICES = {
    s.name: s
    for s in (
        Svc(
            "telephony",
            8001,
            autoscaled=False,
            secrets={"switchboard-pbx", "switchboard-cloud-pbx", "switchboard-telephony-secrets"},
        ),
        Svc("booking", 8002, autoscaled=False, secrets={"switchboard-booking-notifications"}),
        Svc("crm-touch", 8003, autoscaled=False, secrets=set()),
        Svc("analytics", 8004, autoscaled=True, secrets=set()),
        Svc("notify", 8005, autoscaled=True, secrets={"switchboard-redis"}),
    )
}
#: Ingress path prefix -> the Service behind it.
ROUTES = {
    "/": "console",
    "/api/telephony": "telephony",
    "/api/booking": "booking",
    "/api/crm": "crm-touch",
    "/api/analytics": "analytics",
    "/api/notify": "notify",
}
WEBSOCKET_ROUTE = "/api/notify"
WEBSOCKET_TIMEOUT_SECONDS = 3600

CRD_FILES = (
    "strimzi-0.47.0/040-Crd-kafka.yaml",
    "strimzi-0.47.0/043-Crd-kafkatopic.yaml",
    "strimzi-0.47.0/044-Crd-kafkauser.yaml",
    "strimzi-0.47.0/045-Crd-kafkanodepool.yaml",
    "cloudnative-pg-1.27.1/postgresql.cnpg.io_clusters.yaml",
    "cloudnative-pg-1.27.1/postgresql.cnpg.io_databases.yaml",
)
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}


# --------------------------------------------------------------------------------- rendering


def _kustomize() -> Path:
    """A kustomize binary of the pinned version, installed with ``go install`` when missing."""
    override = os.environ.get("SWITCHBOARD_KUSTOMIZE")
    if override:
        return Path(override)
    target = REPO / ".cache" / "bin" / f"kustomize-{KUSTOMIZE_VERSION}"
    if not target.exists():
        go = shutil.which("go")
        if go is None:
            pytest.fail(
                f"kustomize {KUSTOMIZE_VERSION} is not in {target.parent} and there is no `go` "
                f"to install it with (go install {KUSTOMIZE_MODULE}@{KUSTOMIZE_VERSION}); "
                "or set SWITCHBOARD_KUSTOMIZE to a kustomize binary"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as gobin:
            # Through the Go module proxy, checked against the checksum database.
            installed = subprocess.run(
                [go, "install", f"{KUSTOMIZE_MODULE}@{KUSTOMIZE_VERSION}"],
                env={**os.environ, "GOBIN": gobin, "CGO_ENABLED": "0"},
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            if installed.returncode != 0:
                pytest.fail(f"go install of kustomize failed:\n{installed.stderr}")
            # Atomic: a concurrent run sees either no binary or a complete one.
            os.replace(Path(gobin) / "kustomize", target)
    return target


def _overlays() -> list[Path]:
    return sorted(p for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").exists())


OVERLAYS = _overlays()
OVERLAY_IDS = [p.name for p in OVERLAYS]


@functools.cache
def render(overlay: Path) -> tuple[dict[str, Any], ...]:
    """The objects ``kustomize build`` makes of an overlay."""
    result = subprocess.run(
        [str(_kustomize()), "build", str(overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"kustomize build {overlay} failed:\n{result.stderr}"
    docs = tuple(d for d in yaml.load_all(result.stdout, Loader=YamlLoader) if d)
    assert docs, f"kustomize build {overlay} rendered nothing"
    return docs


@pytest.fixture(params=OVERLAYS, ids=OVERLAY_IDS)
def overlay(request: pytest.FixtureRequest) -> Path:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def objects(overlay: Path) -> tuple[dict[str, Any], ...]:
    return render(overlay)


def of_kind(objects: tuple[dict[str, Any], ...], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def named(objects: tuple[dict[str, Any], ...], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in of_kind(objects, kind) if o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]  # type: ignore[no-any-return]
    return obj["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def pod_labels(obj: dict[str, Any]) -> dict[str, str]:
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]  # type: ignore[no-any-return]
    return obj["spec"]["template"]["metadata"]["labels"]  # type: ignore[no-any-return]


def containers(obj: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    spec = pod_spec(obj)
    for key in ("initContainers", "containers"):
        for container in spec.get(key, []):
            yield f"{obj['kind']}/{obj['metadata']['name']}/{container['name']}", container


def workloads(objects: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] in WORKLOAD_KINDS]


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a LabelSelector selects ``labels``."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        value, op = labels.get(expr["key"]), expr["operator"]
        if op == "In" and value not in expr["values"]:
            return False
        if op == "NotIn" and value in expr["values"]:
            return False
        if op == "Exists" and value is None:
            return False
        if op == "DoesNotExist" and value is not None:
            return False
    return True


def server(objects: tuple[dict[str, Any], ...], service: str) -> dict[str, Any]:
    return named(objects, "Deployment", service)


def migration_job(objects: tuple[dict[str, Any], ...], service: str) -> dict[str, Any]:
    return named(objects, "Job", f"{service}-migrate")


# ---------------------------------------------------------------------------------- schemas


def _is_crd_kind(obj: dict[str, Any]) -> bool:
    return obj["apiVersion"].split("/")[0] in {"kafka.strimzi.io", "postgresql.cnpg.io"}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_builtin_objects_match_the_kubernetes_schemas(
    objects: tuple[dict[str, Any], ...], version: str
) -> None:
    errors = []
    for obj in objects:
        if _is_crd_kind(obj):
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = "/".join(str(p) for p in exc.path)
            errors.append(f"{obj['kind']}/{obj['metadata']['name']} at {path}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(exc.message)
    assert not errors, "\n".join(errors)


def _strict(schema: Any) -> Any:
    """A CRD schema where objects with declared properties refuse undeclared ones.

    The API server prunes unknown fields and ``kubectl apply`` (strict field validation)
    rejects them; either way a typo never takes effect, so the test treats one as an error.
    Only nodes with ``type: object`` are closed: Strimzi's ``oneOf`` branches list
    ``properties`` only to say which one is required.
    """
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items()}
    if (
        out.get("type") == "object"
        and "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@functools.cache
def crd_schemas() -> dict[tuple[str, str, str], dict[str, Any]]:
    """(group, version, kind) -> strict openAPIV3Schema, for every served version."""
    schemas = {}
    for name in CRD_FILES:
        crd = yaml.load((DATA / name).read_text(), Loader=YamlLoader)
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served"):
                schema = _strict(version["schema"]["openAPIV3Schema"])
                schemas[(group, version["name"], kind)] = schema
    return schemas


def test_custom_resources_match_their_crd_schemas(objects: tuple[dict[str, Any], ...]) -> None:
    errors = []
    for obj in objects:
        if not _is_crd_kind(obj):
            continue
        group, version = obj["apiVersion"].split("/")
        schema = crd_schemas().get((group, version, obj["kind"]))
        if schema is None:
            errors.append(f"no CRD schema in {DATA} for {obj['apiVersion']} {obj['kind']}")
            continue
        # OpenAPI 3.0 schemas follow JSON Schema draft 4 (boolean exclusiveMinimum etc.).
        validator = jsonschema.Draft4Validator(schema)
        for error in validator.iter_errors(obj):
            path = "/".join(str(p) for p in error.absolute_path)
            errors.append(f"{obj['kind']}/{obj['metadata']['name']} at {path}: {error.message}")
    assert not errors, "\n".join(errors)


def test_the_crd_schemas_catch_mistakes() -> None:
    """The strict CRD schemas reject a misspelt field and a wrong type (the check is real)."""
    schema = crd_schemas()[("kafka.strimzi.io", "v1beta2", "KafkaTopic")]
    good = {
        "apiVersion": "kafka.strimzi.io/v1beta2",
        "kind": "KafkaTopic",
        "metadata": {"name": "t"},
        "spec": {"partitions": 3, "replicas": 3},
    }
    jsonschema.Draft4Validator(schema).validate(good)
    for bad_spec in ({"partitions": 3, "replica": 3}, {"partitions": "three"}, {"partitions": 0}):
        bad = {**good, "spec": bad_spec}
        assert list(jsonschema.Draft4Validator(schema).iter_errors(bad)), bad_spec


# ------------------------------------------------------------------------------- containers


def test_every_container_has_resources_and_a_locked_down_security_context(
    objects: tuple[dict[str, Any], ...],
) -> None:
    errors = []
    for obj in workloads(objects):
        pod = pod_spec(obj)
        pod_sc = pod.get("securityContext", {})
        if pod.get("hostNetwork") or pod.get("hostPID") or pod.get("hostIPC"):
            errors.append(f"{obj['metadata']['name']}: uses the host's namespaces")
        for where, c in containers(obj):
            res = c.get("resources", {})
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in res.get(kind, {}):
                        errors.append(f"{where}: no {kind}.{resource}")
            sc = c.get("securityContext", {})
            if sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is not True:
                errors.append(f"{where}: runAsNonRoot is not true")
            if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
                errors.append(f"{where}: runs as uid 0")
            if sc.get("readOnlyRootFilesystem") is not True:
                errors.append(f"{where}: readOnlyRootFilesystem is not true")
            if sc.get("allowPrivilegeEscalation") is not False:
                errors.append(f"{where}: allowPrivilegeEscalation is not false")
            if sc.get("privileged"):
                errors.append(f"{where}: privileged")
            caps = sc.get("capabilities", {})
            if "ALL" not in caps.get("drop", []) or caps.get("add"):
                errors.append(f"{where}: capabilities must drop ALL and add none")
            seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile", {}))
            if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
                errors.append(f"{where}: no RuntimeDefault seccomp profile")
    assert not errors, "\n".join(errors)


def test_long_running_containers_have_liveness_and_readiness_probes(
    objects: tuple[dict[str, Any], ...],
) -> None:
    errors = []
    for obj in workloads(objects):
        if obj["kind"] in ("Job", "CronJob"):
            continue
        for c in pod_spec(obj)["containers"]:  # init containers run to completion, unprobed
            for probe in ("livenessProbe", "readinessProbe"):
                if probe not in c:
                    errors.append(
                        f"{obj['kind']}/{obj['metadata']['name']}/{c['name']}: no {probe}"
                    )
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("service", SERVICES)
def test_services_probe_their_real_health_endpoints(
    objects: tuple[dict[str, Any], ...], service: str
) -> None:
    svc = SERVICES[service]
    deployment = server(objects, service)
    (container,) = pod_spec(deployment)["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": svc.port}
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    assert env.get(f"{svc.prefix}HTTP_PORT") == str(svc.port)
    assert env.get(f"{svc.prefix}HTTP_HOST") == "0.0.0.0"
    assert container.get("args", [])[:1] == ["serve"]
    expected = {
        "startupProbe": "/healthz",
        "livenessProbe": "/healthz",
        "readinessProbe": "/readyz",
    }
    for probe, path in expected.items():
        get = container[probe]["httpGet"]
        assert get["path"] == path, f"{service} {probe}"
        assert get["port"] in ("http", svc.port), f"{service} {probe}"
    # /readyz spends up to 2 s on each of the database and Kafka.
    assert container["readinessProbe"]["timeoutSeconds"] >= 5
    annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
    assert annotations.get("prometheus.io/path") == "/metrics"
    assert annotations.get("prometheus.io/port") == str(svc.port)


@pytest.mark.parametrize("service", SERVICES)
def test_services_shut_down_gracefully(objects: tuple[dict[str, Any], ...], service: str) -> None:
    spec = pod_spec(server(objects, service))
    # uvicorn drains for up to 20 s after SIGTERM, then the lifespan stops consumers and relay.
    assert spec["terminationGracePeriodSeconds"] >= 30
    (container,) = spec["containers"]
    pre_stop = container.get("lifecycle", {}).get("preStop", {})
    assert pre_stop, f"{service}: no preStop pause before SIGTERM"
    pause = pre_stop.get("sleep", {}).get("seconds", 0)
    assert pause + 25 <= spec["terminationGracePeriodSeconds"]


def test_no_service_account_token_is_mounted(objects: tuple[dict[str, Any], ...]) -> None:
    for obj in workloads(objects):
        assert pod_spec(obj).get("automountServiceAccountToken") is False, obj["metadata"]["name"]


# ------------------------------------------------------------------------------------ images

_PINNED = re.compile(r"^[^@\s]+(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$")


def _image_refs(objects: tuple[dict[str, Any], ...]) -> list[tuple[str, str]]:
    refs = [(where, c["image"]) for o in workloads(objects) for where, c in containers(o)]
    for cluster in of_kind(objects, "Cluster"):
        refs.append(
            (f"Cluster/{cluster['metadata']['name']}", cluster["spec"].get("imageName", ""))
        )
    return refs


def test_every_image_is_pinned(objects: tuple[dict[str, Any], ...]) -> None:
    errors = []
    for where, image in _image_refs(objects):
        name_and_tag = image.split("@")[0]
        last = name_and_tag.rsplit("/", 1)[-1]
        tag = last.split(":", 1)[1] if ":" in last else None
        digest = "@sha256:" in image
        if not _PINNED.match(image) or (tag is None and not digest):
            errors.append(f"{where}: {image!r} has neither a tag nor a digest")
        elif tag == "latest" or tag in ("stable", "main", "master", "edge"):
            errors.append(f"{where}: {image!r} uses the moving tag {tag!r}")
    assert not errors, "\n".join(errors)


def test_the_services_run_their_own_image(objects: tuple[dict[str, Any], ...]) -> None:
    for service in SERVICES:
        (container,) = pod_spec(server(objects, service))["containers"]
        (migrate,) = pod_spec(migration_job(objects, service))["containers"]
        assert container["image"].split("@")[0].split(":")[0].endswith(f"/{service}")
        assert migrate["image"] == container["image"], f"{service}: migrate with the same image"


def _built_images() -> set[str]:
    """What ``make images`` tags, ``switchboard/<name>:<workspace version>`` (offline: the
    script only prints the names)."""
    done = subprocess.run(
        ["/bin/bash", str(REPO / "scripts" / "images.sh"), "names"],
        env={**os.environ, "IMAGE_TAG": ""},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return set(done.stdout.split())


def test_the_overlays_run_exactly_the_images_make_images_builds(
    objects: tuple[dict[str, Any], ...],
) -> None:
    """Pushed with ``make images-push REGISTRY=docker://<registry>/switchboard``, the images
    keep their names and tags: every Switchboard image a workload names is the chain's
    registry + one that ``make images`` built, and every one built is run somewhere."""
    built = _built_images()
    assert built, "scripts/images.sh names printed nothing"
    used = set()
    for where, image in _image_refs(objects):
        registry, _, path = image.partition("/")
        if not path.startswith("switchboard/"):
            continue  # Redis, PostgreSQL: not ours
        assert "." in registry or ":" in registry, f"{where}: {image!r} names no registry"
        assert path in built, f"{where}: {path!r} is not an image make images builds ({built})"
        used.add(path)
    assert used == built, f"built but never run: {sorted(built - used)}"


# ----------------------------------------------------------------------------------- secrets


def _secret_refs(node: Any, parent: str = "") -> Iterator[tuple[str, str | None]]:
    """Every (secret name, key or None) an object refers to, wherever it does.

    Covers pod specs (``secretKeyRef``, ``secretRef``, secret volumes and projections,
    ``imagePullSecrets``), Ingress TLS (``secretName``) and operator resources
    (``passwordSecret``, ``superuserSecret``, ``certificateAndKey`` ... ``secretName``).
    """
    if isinstance(node, dict):
        if isinstance(node.get("secretName"), str):
            yield node["secretName"], None
            for item in node.get("items", []):
                yield node["secretName"], item.get("key")
        if "secret" in parent.lower() and isinstance(node.get("name"), str):
            key = node.get("key")
            yield node["name"], key if isinstance(key, str) else None
            for item in node.get("items", []):
                yield node["name"], item.get("key")
        for key, value in node.items():
            yield from _secret_refs(value, key)
    elif isinstance(node, list):
        for item in node:
            yield from _secret_refs(item, parent)


def _kustomization_dirs(directory: Path) -> Iterator[Path]:
    """The directory and every local base and component its kustomization pulls in."""
    yield directory
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    for entry in [*kustomization.get("resources", []), *kustomization.get("components", [])]:
        target = (directory / entry).resolve()
        if target.is_dir() and (target / "kustomization.yaml").exists():
            yield from _kustomization_dirs(target)


def declared_secrets(overlay: Path) -> dict[str, dict[str, Any]]:
    declared: dict[str, dict[str, Any]] = {}
    for directory in _kustomization_dirs(overlay):
        path = directory / "required-secrets.yaml"
        if path.exists():
            for entry in yaml.safe_load(path.read_text())["secrets"]:
                declared[entry["name"]] = entry
    return declared


def operator_made_secrets(objects: tuple[dict[str, Any], ...]) -> dict[str, set[str]]:
    """Secrets the Strimzi and CloudNativePG operators create for the rendered resources."""
    made: dict[str, set[str]] = {}
    for user in of_kind(objects, "KafkaUser"):
        made[user["metadata"]["name"]] = {"password", "sasl.jaas.config"}
    for kafka in of_kind(objects, "Kafka"):
        made[f"{kafka['metadata']['name']}-cluster-ca-cert"] = {"ca.crt", "ca.p12", "ca.password"}
    for cluster in of_kind(objects, "Cluster"):
        name = cluster["metadata"]["name"]
        made[f"{name}-ca"] = {"ca.crt", "ca.key"}
        made[f"{name}-app"] = {"username", "password", "uri", "host", "port", "dbname"}
    return made


def test_secrets_are_referenced_never_stored(
    overlay: Path, objects: tuple[dict[str, Any], ...]
) -> None:
    for obj in objects:
        assert obj["kind"] != "Secret", f"Secret {obj['metadata']['name']} rendered: no values here"
    for path in K8S.rglob("*"):
        assert path.suffix not in (".env", ".pem", ".key", ".crt", ".p12"), f"secret-like {path}"


def test_every_referenced_secret_is_declared_with_its_keys(
    overlay: Path, objects: tuple[dict[str, Any], ...]
) -> None:
    declared = declared_secrets(overlay)
    made = operator_made_secrets(objects)
    errors = []
    for obj in objects:
        for name, key in _secret_refs(obj):
            where = f"{obj['kind']}/{obj['metadata']['name']}"
            keys = set(declared[name]["keys"]) if name in declared else made.get(name)
            if keys is None:
                errors.append(f"{where} refers to Secret {name!r}, declared nowhere")
            elif key is not None and key not in keys:
                errors.append(f"{where} uses key {key!r} of Secret {name!r}, declared {keys}")
    # CloudNativePG reads `username` and `password` from a managed role's passwordSecret.
    for cluster in of_kind(objects, "Cluster"):
        for role in cluster["spec"].get("managed", {}).get("roles", []):
            secret = role.get("passwordSecret", {}).get("name")
            if secret in declared:
                if declared[secret]["type"] != "kubernetes.io/basic-auth":
                    errors.append(f"{secret}: a role's password Secret must be basic-auth")
                if not {"username", "password"} <= set(declared[secret]["keys"]):
                    errors.append(f"{secret}: needs the keys username and password")
    assert not errors, "\n".join(errors)


def test_every_declared_secret_is_used_and_documented() -> None:
    readme = (K8S / "README.md").read_text()
    used: set[str] = set()
    declared: set[str] = set()
    for overlay in OVERLAYS:
        declared |= set(declared_secrets(overlay))
        used |= {name for obj in render(overlay) for name, _ in _secret_refs(obj)}
    assert declared - used == set(), "declared in a required-secrets.yaml but never used"
    missing = sorted(name for name in declared if name not in readme)
    assert not missing, f"deploy/k8s/README.md does not tell how to create {missing}"


_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def test_every_variable_reference_resolves(objects: tuple[dict[str, Any], ...]) -> None:
    """``$(VAR)`` in env values, command and args names a variable defined before it.

    The kubelet leaves an undefined reference as it is, so a missing endpoint key would give
    a service a database URL with ``$(DATABASE_HOST)`` in it.
    """
    config_maps = {c["metadata"]["name"]: c.get("data", {}) for c in of_kind(objects, "ConfigMap")}
    errors = []
    for obj in workloads(objects):
        for where, c in containers(obj):
            defined: set[str] = set()
            for source in c.get("envFrom", []):
                if "configMapRef" in source:
                    name = source["configMapRef"]["name"]
                    if name not in config_maps:
                        errors.append(f"{where}: envFrom ConfigMap {name} is not rendered")
                    defined |= set(config_maps.get(name, {}))
            for var in c.get("env", []):
                for ref in _VAR.findall(var.get("value", "")):
                    if ref not in defined:
                        errors.append(f"{where}: {var['name']} uses $({ref}), not defined before")
                defined.add(var["name"])
            for arg in [*c.get("command", []), *c.get("args", [])]:
                for ref in _VAR.findall(arg):
                    if ref not in defined:
                        errors.append(f"{where}: argument uses $({ref}), not defined")
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_gets_its_settings_and_only_its_secrets(
    objects: tuple[dict[str, Any], ...], service: str
) -> None:
    svc = SERVICES[service]
    (container,) = pod_spec(server(objects, service))["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["AUTH_SECRET"]["valueFrom"]["secretKeyRef"]["name"] == "switchboard-auth"
    url = env[f"{svc.prefix}DATABASE_URL"]["value"]
    assert url.startswith("postgresql+asyncpg://")
    assert f"/{svc.database}" in url
    used = {name for name, _ in _secret_refs(container)}
    kafka_user = env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"]
    assert used == {"switchboard-auth", f"switchboard-{service}-db", kafka_user, *svc.secrets}
    config = named(objects, "ConfigMap", container["envFrom"][0]["configMapRef"]["name"])["data"]
    assert config["KAFKA_BOOTSTRAP_SERVERS"]
    assert config["LOG_JSON"] == "true"
    if service == "telephony":
        assert env["TELEPHONY_PBX_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "switchboard-pbx"
    if service == "notify":
        assert env["NOTIFY_REDIS_URL"]["value"].startswith("$(REDIS_SCHEME)://")


# ----------------------------------------------------------------- scaling and availability


def test_notify_and_analytics_autoscale(objects: tuple[dict[str, Any], ...]) -> None:
    hpas = {
        h["spec"]["scaleTargetRef"]["name"]: h for h in of_kind(objects, "HorizontalPodAutoscaler")
    }
    for service, svc in SERVICES.items():
        deployment = server(objects, service)
        if svc.autoscaled:
            hpa = hpas[service]
            assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
            assert 2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
            # The autoscaler owns the replica count; an apply must not reset it.
            assert "replicas" not in deployment["spec"], service
        else:
            assert service not in hpas
            assert deployment["spec"]["replicas"] >= 2, f"{service}: one replica is an outage"


def test_every_deployment_has_a_disruption_budget(objects: tuple[dict[str, Any], ...]) -> None:
    pdbs = of_kind(objects, "PodDisruptionBudget")
    for deployment in of_kind(objects, "Deployment"):
        labels = pod_labels(deployment)
        matching = [p for p in pdbs if selects(p["spec"]["selector"], labels)]
        assert len(matching) == 1, f"{deployment['metadata']['name']}: {len(matching)} PDBs"
        spec = matching[0]["spec"]
        # maxUnavailable keeps a drain possible whatever the replica count.
        assert spec.get("maxUnavailable") == 1 or spec.get("minAvailable") is not None


def test_services_and_selectors_line_up(objects: tuple[dict[str, Any], ...]) -> None:
    jobs = of_kind(objects, "Job")
    for service in of_kind(objects, "Service"):
        selector = {"matchLabels": service["spec"]["selector"]}
        targets = [w for w in workloads(objects) if selects(selector, pod_labels(w))]
        assert targets, f"Service {service['metadata']['name']} selects no pods"
        assert not [j for j in jobs if selects(selector, pod_labels(j))], "a Service selects a Job"
        for port in service["spec"]["ports"]:
            names = {
                p.get("name") for t in targets for _, c in containers(t) for p in c.get("ports", [])
            }
            assert port["targetPort"] in names, service["metadata"]["name"]
    for deployment in of_kind(objects, "Deployment"):
        selector = deployment["spec"]["selector"]
        assert selects(selector, pod_labels(deployment))
        assert not [j for j in jobs if selects(selector, pod_labels(j))], (
            "a Deployment selects a Job"
        )


# ------------------------------------------------------------------------- network policies


def _policies(objects: tuple[dict[str, Any], ...], direction: str) -> list[dict[str, Any]]:
    return [
        p
        for p in of_kind(objects, "NetworkPolicy")
        if direction in p["spec"].get("policyTypes", [])
    ]


def test_network_policies_deny_by_default(objects: tuple[dict[str, Any], ...]) -> None:
    deny = [
        p
        for p in of_kind(objects, "NetworkPolicy")
        if p["spec"]["podSelector"] == {}
        and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    assert deny, "no default-deny NetworkPolicy (podSelector {}, Ingress and Egress, no rules)"


def _allowed(
    objects: tuple[dict[str, Any], ...], labels: dict[str, str], direction: str, port: int | str
) -> bool:
    rules_key = "ingress" if direction == "Ingress" else "egress"
    for policy in _policies(objects, direction):
        if not selects(policy["spec"]["podSelector"], labels):
            continue
        for rule in policy["spec"].get(rules_key, []):
            ports = rule.get("ports")
            if ports is None or any(p.get("port") == port for p in ports):
                return True
    return False


def _kafka_port(objects: tuple[dict[str, Any], ...]) -> int:
    """The port of the brokers the services connect to (KAFKA_BOOTSTRAP_SERVERS)."""
    bootstrap = named(objects, "ConfigMap", _config_name(objects))["data"][
        "KAFKA_BOOTSTRAP_SERVERS"
    ]
    ports = {int(server.rsplit(":", 1)[1]) for server in bootstrap.split(",")}
    assert len(ports) == 1, f"one Kafka port for the egress policy, got {ports}"
    return ports.pop()


def test_network_policies_allow_exactly_the_needed_paths(
    objects: tuple[dict[str, Any], ...],
) -> None:
    errors = []
    kafka_port = _kafka_port(objects)
    for service in SERVICES:
        labels = pod_labels(server(objects, service))
        job_labels = pod_labels(migration_job(objects, service))
        if not _allowed(objects, labels, "Ingress", "http"):
            errors.append(f"{service}: the ingress controller cannot reach it")
        for port, what in ((kafka_port, "Kafka"), (5432, "PostgreSQL"), (53, "DNS")):
            if not _allowed(objects, labels, "Egress", port):
                errors.append(f"{service}: cannot reach {what}")
        if not _allowed(objects, job_labels, "Egress", 5432):
            errors.append(f"{service} migration Job: cannot reach PostgreSQL")
        if _allowed(objects, job_labels, "Egress", kafka_port):
            errors.append(f"{service} migration Job: may reach Kafka, which it does not need")
        if _allowed(objects, labels, "Egress", 6379) != (service == "notify"):
            errors.append(f"{service}: Redis egress must be notify's alone")
        # Only telephony (Calltouch/Callmarker deliveries) and booking (the SMS gateway) call
        # out, and never to private ranges; only booking sends email.
        if _allowed(objects, labels, "Egress", 443) != (service in ("telephony", "booking")):
            errors.append(f"{service}: HTTPS egress must be telephony's and booking's alone")
        for smtp in (587, 465):
            if _allowed(objects, labels, "Egress", smtp) != (service == "booking"):
                errors.append(f"{service}: SMTP egress ({smtp}) must be booking's alone")
    console = pod_labels(named(objects, "Deployment", "console"))
    if not _allowed(objects, console, "Ingress", "http"):
        errors.append("console: the ingress controller cannot reach it")
    for policy in of_kind(objects, "NetworkPolicy"):
        for rule in policy["spec"].get("egress", []):
            for peer in rule.get("to", []):
                block = peer.get("ipBlock", {})
                if block.get("cidr") == "0.0.0.0/0":
                    closed = set(block.get("except", []))
                    if not {"10.0.0.0/8", "169.254.0.0/16"} <= closed:
                        errors.append(f"{policy['metadata']['name']}: egress to private ranges")
    for port in (kafka_port, 5432, 6379, 443):
        if _allowed(objects, console, "Egress", port):
            errors.append(f"console: may open port {port}, which a static site never needs")
    assert not errors, "\n".join(errors)


# ----------------------------------------------------------------------------------- ingress


def _annotation_seconds(ingress: dict[str, Any], name: str) -> int:
    return int(
        ingress["metadata"].get("annotations", {}).get(f"nginx.ingress.kubernetes.io/{name}", 60)
    )


def test_one_host_routes_the_console_the_apis_and_the_websocket(
    objects: tuple[dict[str, Any], ...],
) -> None:
    ingresses = of_kind(objects, "Ingress")
    services = {s["metadata"]["name"]: s for s in of_kind(objects, "Service")}
    hosts = {rule["host"] for i in ingresses for rule in i["spec"]["rules"]}
    assert len(hosts) == 1, f"one host for UI, APIs and WebSocket (one origin), got {hosts}"
    (host,) = hosts
    assert not host.endswith(".invalid"), "the overlay did not set the chain's host"
    routes: dict[str, tuple[str, dict[str, Any]]] = {}
    for ingress in ingresses:
        assert ingress["spec"]["ingressClassName"] == "nginx"
        tls_hosts = {h for t in ingress["spec"].get("tls", []) for h in t["hosts"]}
        assert host in tls_hosts, f"{ingress['metadata']['name']}: no TLS for {host}"
        annotations = ingress["metadata"].get("annotations", {})
        assert annotations.get("nginx.ingress.kubernetes.io/force-ssl-redirect") == "true"
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["name"] in services, f"{path['path']} -> missing Service"
                port_names = {p["name"] for p in services[backend["name"]]["spec"]["ports"]}
                assert backend["port"].get("name") in port_names
                assert path["pathType"] in ("Prefix", "Exact")
                routes[path["path"]] = (backend["name"], ingress)
    for prefix, service in ROUTES.items():
        assert prefix in routes, f"no route for {prefix}"
        assert routes[prefix][0] == service, f"{prefix} goes to {routes[prefix][0]}"
        assert routes[prefix][1]["spec"]["rules"][0]["http"]["paths"], prefix
    websocket = routes[WEBSOCKET_ROUTE][1]
    for timeout in ("proxy-read-timeout", "proxy-send-timeout"):
        assert _annotation_seconds(websocket, timeout) >= WEBSOCKET_TIMEOUT_SECONDS, timeout
    # The other routes keep short timeouts: a hung request must not hold a worker for an hour.
    for prefix in ("/", "/api/booking"):
        assert _annotation_seconds(routes[prefix][1], "proxy-read-timeout") <= 120


def test_the_pbx_webhook_is_restricted_to_the_pbx(objects: tuple[dict[str, Any], ...]) -> None:
    pbx = named(objects, "Ingress", "switchboard-pbx")
    (rule,) = pbx["spec"]["rules"]
    assert [p["path"] for p in rule["http"]["paths"]] == ["/api/telephony/pbx"]
    annotations = pbx["metadata"]["annotations"]
    allowed = annotations["nginx.ingress.kubernetes.io/whitelist-source-range"]
    assert "0.0.0.0/0" not in allowed, "the overlay must name the PBX's addresses"
    # Webhook batches are up to 1 MiB.
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] in ("2m", "4m", "8m")


# --------------------------------------------------------------------------------- migrations


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_a_migration_job(
    objects: tuple[dict[str, Any], ...], service: str
) -> None:
    job = migration_job(objects, service)
    spec = pod_spec(job)
    assert spec["restartPolicy"] in ("Never", "OnFailure")
    (container,) = spec["containers"]
    assert container["args"] == ["migrate"]
    assert job["spec"].get("ttlSecondsAfterFinished"), (
        "a finished Job must go, or the next apply fails"
    )
    assert job["spec"].get("backoffLimit", 6) >= 3, "PostgreSQL may still be starting"
    assert pod_labels(job)["app.kubernetes.io/component"] == "migration"
    env = {e["name"]: e for e in container["env"]}
    server_env = {e["name"]: e for e in pod_spec(server(objects, service))["containers"][0]["env"]}
    url = f"{SERVICES[service].prefix}DATABASE_URL"
    assert env[url] == server_env[url], "the Job must migrate the database the service uses"


# ------------------------------------------------------------------- in-cluster infrastructure


#: The services that consume events (booking only its own appointments', for notifications).
def _subscriptions() -> list[tuple[str, str, str]]:
    """(topic, consumer group, service) for every consumer of the services, from their
    subscription tables (topics of contract events derived from the contracts)."""
    from switchboard_contracts import topic_for
    from switchboard_runtime.messaging import platform_consumers

    found = []
    for consumer in platform_consumers():
        topics = {*consumer.topics, *(topic_for(t) for t in consumer.event_types)}
        found += [(topic, consumer.group, consumer.service) for topic in sorted(topics)]
    return found


def test_subscriptions_are_found() -> None:
    """The tables below name the consumers that exist today (the check is not vacuous)."""
    groups = {(topic, group) for topic, group, _ in _subscriptions()}
    assert ("pbx.events.raw", "telephony.pbx-ingest") in groups
    assert ("telephony.calls", "analytics.calls") in groups
    assert ("booking.appointments", "booking.notifications") in groups


def test_every_topic_and_dead_letter_topic_has_a_kafkatopic(
    objects: tuple[dict[str, Any], ...],
) -> None:
    from switchboard_contracts import ALL_TOPICS, dlq_topic

    topics = {
        t["spec"].get("topicName", t["metadata"]["name"]): t for t in of_kind(objects, "KafkaTopic")
    }
    if not of_kind(objects, "Kafka"):
        assert not topics
        pytest.skip("Kafka is managed outside this overlay (topics listed in the README)")
    brokers = sum(
        p["spec"]["replicas"]
        for p in of_kind(objects, "KafkaNodePool")
        if "broker" in p["spec"]["roles"]
    )
    expected = set(ALL_TOPICS) | {dlq_topic(t, g) for t, g, _ in _subscriptions()}
    missing = sorted(expected - set(topics))
    assert not missing, f"no KafkaTopic in components/in-cluster-infra/topics.yaml for {missing}"
    (kafka,) = of_kind(objects, "Kafka")
    for name, topic in topics.items():
        spec = topic["spec"]
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
        assert spec["partitions"] >= 1 and spec["replicas"] <= brokers, name
        config = spec.get("config", {})
        assert "retention.ms" in config, f"{name}: say how long it is kept"
        assert int(config.get("min.insync.replicas", 1)) < spec["replicas"], name
    # Analytics rebuilds from offset 0: the canonical event topics keep everything.
    for name in ALL_TOPICS:
        if name != "pbx.events.raw":
            assert topics[name]["spec"]["config"]["retention.ms"] == "-1", name
    # An autoscaled consumer does not get more replicas than its partitions can feed.
    for service in ("analytics",):
        hpa = next(
            h
            for h in of_kind(objects, "HorizontalPodAutoscaler")
            if h["spec"]["scaleTargetRef"]["name"] == service
        )
        consumed = [t for t, g, _ in _subscriptions() if g.startswith(f"{service}.")]
        assert hpa["spec"]["maxReplicas"] <= min(topics[t]["spec"]["partitions"] for t in consumed)


def test_kafka_is_kraft_and_every_listener_requires_scram_over_tls(
    objects: tuple[dict[str, Any], ...],
) -> None:
    kafkas = of_kind(objects, "Kafka")
    if not kafkas:
        pytest.skip("Kafka is managed outside this overlay")
    (kafka,) = kafkas
    spec = kafka["spec"]["kafka"]
    assert spec["version"].startswith("3.9.")
    assert "zookeeper" not in kafka["spec"]
    pools = [
        p
        for p in of_kind(objects, "KafkaNodePool")
        if p["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
    ]
    assert any("controller" in p["spec"]["roles"] for p in pools), "KRaft needs controllers"
    for pool in pools:
        assert pool["spec"].get("resources", {}).get("limits"), pool["metadata"]["name"]
    # Every client is a KafkaUser: no listener lets anyone in without a password, or in clear.
    for listener in spec["listeners"]:
        assert listener["tls"] is True, f"listener {listener['name']} without TLS"
        auth = listener.get("authentication", {}).get("type")
        assert auth == "scram-sha-512", f"listener {listener['name']} authenticates with {auth}"
        if listener["type"] == "loadbalancer":
            ranges = listener.get("configuration", {}).get("loadBalancerSourceRanges", [])
            assert ranges and "0.0.0.0/0" not in ranges, f"{listener['name']}: open to anyone"
    # ACLs apply, and nobody bypasses them (the operators are authorised by Strimzi itself).
    assert spec.get("authorization", {}).get("type") == "simple"
    assert not spec["authorization"].get("superUsers"), "no super user: every client has ACLs"
    config = spec["config"]
    assert config["auto.create.topics.enable"] is False
    assert int(config["min.insync.replicas"]) >= 2
    bootstrap = named(objects, "ConfigMap", _config_name(objects))["data"][
        "KAFKA_BOOTSTRAP_SERVERS"
    ]
    internal = [listener for listener in spec["listeners"] if listener["type"] == "internal"]
    assert bootstrap in {
        f"{kafka['metadata']['name']}-kafka-bootstrap:{listener['port']}" for listener in internal
    }
    for user in of_kind(objects, "KafkaUser"):
        if user["metadata"]["name"] == "pbx-connector":
            for acl in user["spec"]["authorization"]["acls"]:
                ops = set(acl.get("operations", [acl.get("operation")]))
                assert ops <= {"Write", "Describe", "IdempotentWrite"}, "the PBX only writes"


def _kafka_users_script() -> Any:
    """scripts/k8s_kafka_users.py, the generator of the services' KafkaUsers."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "k8s_kafka_users", REPO / "scripts" / "k8s_kafka_users.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_kafka_users_file_is_what_the_script_writes() -> None:
    """Nobody edits the KafkaUsers by hand: the committed file is the generator's output."""
    script = _kafka_users_script()
    committed = script.OUTPUT.read_text()
    assert committed == script.render(), (
        f"{script.OUTPUT.relative_to(REPO)} is stale: run `make k8s-kafka-users`"
    )


def test_each_services_kafka_user_has_exactly_the_acls_derived_from_its_tables(
    objects: tuple[dict[str, Any], ...],
) -> None:
    """The rendered KafkaUsers allow what ``kafka_acls`` derives from the subscription
    tables and the contracts, no more and no less: a new subscription, topic or consumer
    group without its ACL fails here."""
    from switchboard_runtime.acls import KAFKA_SERVICES, KafkaAcls, kafka_acls

    kafkas = of_kind(objects, "Kafka")
    if not kafkas:
        pytest.skip("Kafka is managed outside this overlay (its ACLs: the same script)")
    (kafka,) = kafkas
    prefix = named(objects, "ConfigMap", _config_name(objects))["data"].get("TOPIC_PREFIX", "")
    users = {u["metadata"]["name"]: u for u in of_kind(objects, "KafkaUser")}
    assert set(users) - set(KAFKA_SERVICES) <= {"pbx-connector"}, "a KafkaUser of nobody's"
    for service in KAFKA_SERVICES:
        assert service in users, f"no KafkaUser for {service}"
        user = users[service]
        assert user["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
        assert user["spec"]["authentication"]["type"] == "scram-sha-512"
        assert user["spec"]["authorization"]["type"] == "simple"
        read, groups, write, other = set(), set(), set(), []
        for acl in user["spec"]["authorization"]["acls"]:
            resource, operations = acl["resource"], tuple(acl["operations"])
            exact = (
                resource.get("patternType", "literal") == "literal"
                and acl.get("type", "allow") == "allow"
                and acl.get("host", "*") == "*"
            )
            kind = (resource["type"], operations)
            if exact and kind == ("topic", ("Read", "Describe")):
                read.add(resource["name"])
            elif exact and kind == ("group", ("Read",)):
                groups.add(resource["name"])
            elif exact and kind == ("topic", ("Write", "Describe")):
                write.add(resource["name"])
            else:
                other.append(acl)
        assert not other, f"{service}: ACLs kafka_acls does not derive: {other}"
        rendered = KafkaAcls(service, *(tuple(sorted(names)) for names in (read, groups, write)))
        assert rendered == kafka_acls(service, prefix), service


def test_each_service_connects_to_kafka_with_scram_over_tls_as_its_own_user(
    objects: tuple[dict[str, Any], ...],
) -> None:
    """Every service Deployment speaks SASL_SSL with SCRAM-SHA-512, its password from its
    own Secret (in-cluster: the one Strimzi makes for its KafkaUser) and the CA that signed
    the brokers' certificates mounted where ``KAFKA_SSL_CAFILE`` points."""
    from switchboard_runtime.acls import KAFKA_SERVICES

    assert set(SERVICES) == set(KAFKA_SERVICES), "the deploy tests know every Kafka service"
    kafkas = of_kind(objects, "Kafka")
    config = named(objects, "ConfigMap", _config_name(objects))["data"]
    # In the shared ConfigMap it would reach the migration Jobs, which have no Kafka user.
    assert "KAFKA_SECURITY_PROTOCOL" not in config
    password_secrets = {}
    for service in SERVICES:
        deployment = server(objects, service)
        (container,) = pod_spec(deployment)["containers"]
        env = {e["name"]: e for e in container["env"]}
        assert env["KAFKA_SECURITY_PROTOCOL"]["value"] == "SASL_SSL", service
        assert env["KAFKA_SASL_MECHANISM"]["value"] == "SCRAM-SHA-512", service
        password = env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
        password_secrets[service] = password["name"]
        cafile = env["KAFKA_SSL_CAFILE"]["value"]
        directory, _, filename = cafile.rpartition("/")
        (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == directory]
        assert mount.get("readOnly") is True
        (volume,) = [v for v in pod_spec(deployment)["volumes"] if v["name"] == mount["name"]]
        assert {i["path"]: i["key"] for i in volume["secret"]["items"]}[filename] == "ca.crt"
        if kafkas:
            user = named(objects, "KafkaUser", service)
            assert env["KAFKA_SASL_USERNAME"]["value"] == user["metadata"]["name"]
            assert password == {"name": user["metadata"]["name"], "key": "password"}
            ca_secret = f"{kafkas[0]['metadata']['name']}-cluster-ca-cert"
            assert volume["secret"]["secretName"] == ca_secret, service
        else:
            username = env["KAFKA_SASL_USERNAME"]["valueFrom"]["secretKeyRef"]
            assert username == {"name": password["name"], "key": "username"}, service
            assert password["key"] == "password", service
    assert len(set(password_secrets.values())) == len(SERVICES), (
        f"each service connects as its own user: {password_secrets}"
    )


def _config_name(objects: tuple[dict[str, Any], ...]) -> str:
    (container,) = pod_spec(server(objects, "telephony"))["containers"]
    return container["envFrom"][0]["configMapRef"]["name"]  # type: ignore[no-any-return]


def test_postgres_has_a_database_and_a_role_per_service(
    objects: tuple[dict[str, Any], ...],
) -> None:
    clusters = of_kind(objects, "Cluster")
    if not clusters:
        pytest.skip("PostgreSQL is managed outside this overlay")
    (cluster,) = clusters
    config = named(objects, "ConfigMap", _config_name(objects))["data"]
    assert config["DATABASE_HOST"] == f"{cluster['metadata']['name']}-rw"
    assert cluster["spec"]["instances"] >= 2
    assert cluster["spec"].get("resources", {}).get("limits")
    roles = {r["name"]: r for r in cluster["spec"]["managed"]["roles"]}
    databases = {d["spec"]["name"]: d for d in of_kind(objects, "Database")}
    for service, svc in SERVICES.items():
        database = databases[svc.database]
        assert database["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
        assert database["spec"].get("databaseReclaimPolicy") == "retain"
        role = roles[database["spec"]["owner"]]
        assert role["login"] is True and not role.get("superuser")
        assert role["passwordSecret"]["name"] == f"switchboard-{service}-db"


def test_namespace_is_the_chains(overlay: Path, objects: tuple[dict[str, Any], ...]) -> None:
    (namespace,) = of_kind(objects, "Namespace")
    name = namespace["metadata"]["name"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] in (
        "baseline",
        "restricted",
    )
    for obj in objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == name, (
                f"{obj['kind']}/{obj['metadata']['name']}"
            )


# -------------------------------------------------------------------------------- Dockerfile


def _dockerfile_stages(text: str) -> dict[str, str]:
    """Each named stage of the Dockerfile → its text (from its FROM to the next one)."""
    stages = {}
    for part in re.split(r"^(?=FROM )", text, flags=re.M)[1:]:
        named_stage = re.match(r"FROM \S+ AS (\S+)", part)
        assert named_stage, f"every stage is named: {part.splitlines()[0]}"
        stages[named_stage[1]] = part
    return stages


def test_the_dockerfile_builds_from_the_lock_file_and_runs_as_non_root() -> None:
    """The Dockerfile's rules, read statically (tests/images builds and runs it for real)."""
    text = (REPO / "Dockerfile").read_text()
    stages = _dockerfile_stages(text)
    assert set(stages) == {"builder", "runtime", "console", "service"}
    assert re.search(r"^ARG BASE_IMAGE=\S+$", text, re.M), "the base is a build argument"
    assert stages["builder"].startswith("FROM ${BASE_IMAGE} AS builder")
    assert stages["runtime"].startswith("FROM ${BASE_IMAGE} AS runtime")
    assert "uv sync --frozen --no-dev" in stages["builder"]
    assert re.search(r"uv==\$\{UV_VERSION\}", text) and re.search(r"UV_VERSION=\d+\.\d+\.\d+", text)
    # Nothing to build or install with reaches an image that runs.
    assert "COPY --from=builder /app/.venv /app/.venv" in stages["runtime"]
    for name in ("runtime", "console", "service"):
        assert not re.search(r"apt-get|build-essential|gcc|pip install", stages[name]), name
    for name in ("console", "service"):
        assert stages[name].startswith(f"FROM runtime AS {name}")
        assert "USER 10001:10001" in stages[name], name
    assert 'ENTRYPOINT ["/app/.venv/bin/switchboard-service"]' in stages["service"]
    assert 'CMD ["serve", "--host", "0.0.0.0"]' in stages["service"]
    assert 'ENTRYPOINT ["/app/.venv/bin/switchboard-console"]' in stages["console"]
    assert "COPY console/dist/" in stages["console"]
    # The default target (the last stage) is a service, as `buildah bud --build-arg SERVICE=…`.
    assert list(stages)[-1] == "service"
    ignore = (REPO / ".dockerignore").read_text()
    for pattern in ("**/tests/", "**/.venv/", "**/__pycache__/", "!console/dist/"):
        assert pattern in ignore


def test_the_strict_schema_helper_leaves_open_objects_open() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": True,
                "properties": {"b": {"type": "string"}},
            }
        },
    }
    strict = _strict(copy.deepcopy(schema))
    assert strict["additionalProperties"] is False
    assert "additionalProperties" not in strict["properties"]["a"]


# ---------------------------------------------------------------------------------- rollout


def test_rollout_applies_migrations_before_services(objects: tuple[dict[str, Any], ...]) -> None:
    """rollout.sh's first apply (``-l 'app.kubernetes.io/component notin (server,web)'``)
    takes every migration Job and the infrastructure, and none of the services."""
    script = (K8S / "rollout.sh").read_text()
    assert "-l 'app.kubernetes.io/component notin (server,web)'" in script
    subprocess.run(["bash", "-n", str(K8S / "rollout.sh")], check=True)
    first = [
        o
        for o in objects
        if o["metadata"].get("labels", {}).get("app.kubernetes.io/component")
        not in ("server", "web")
    ]
    kinds = {o["kind"] for o in first}
    assert {o["metadata"]["name"] for o in first if o["kind"] == "Job"} == {
        f"{s}-migrate" for s in SERVICES
    }
    assert "Deployment" not in kinds and "HorizontalPodAutoscaler" not in kinds
    assert "ConfigMap" in kinds and "Namespace" in kinds
