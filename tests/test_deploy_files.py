"""The deployment files that cannot run here (no Docker, no Kubernetes), checked statically.

They parse; they use the one leadroute image; every LEADROUTE_*, SALESFORCE_* and DAGSTER_PG_*
variable they set is one the code reads (from pipelines/settings.py, the Salesforce connector's
settings and the production instance file), and each service sets the ones it needs; secrets come
from secret stores, never from the files; nothing is published beyond 127.0.0.1, and 0.0.0.0
appears only as the value of an explicitly named *_HOST setting.
"""

from __future__ import annotations

import re
import shlex

import pytest
import yaml

from pipelines.alerts import ALERT_URLS_VAR
from pipelines.crm.salesforce import CREDENTIAL_VARS, TUNING_VARS
from pipelines.deploy.orgs import SECRET_VARS
from pipelines.settings import VARIABLES
from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose" / "docker-compose.yaml"
VALUES = DEPLOY / "helm" / "values.yaml"
INSTANCE = DEPLOY / "production" / "dagster.yaml"
PREFIXES = ("LEADROUTE_", "SALESFORCE_", "DAGSTER_PG_")


def env_refs(node) -> set[str]:
    """Variables an instance file reads through ``{env: NAME}``."""
    if isinstance(node, dict):
        if set(node) == {"env"}:
            return {node["env"]}
        return set().union(*(env_refs(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(env_refs(v) for v in node)) if node else set()
    return set()


INSTANCE_VARS = env_refs(yaml.safe_load(INSTANCE.read_text()))
CODE_VARS = (set(VARIABLES.values()) | set(CREDENTIAL_VARS.values()) | set(TUNING_VARS.values()) | INSTANCE_VARS
             | {ALERT_URLS_VAR})


def ours(names) -> set[str]:
    return {n for n in names if n.startswith(PREFIXES)}


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def values() -> dict:
    return yaml.safe_load(VALUES.read_text())


def dockerfile_env() -> dict[str, str]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    env = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            env.update(dict(part.split("=", 1) for part in shlex.split(line[4:])))
    return env


def test_the_instance_reads_its_database_credentials_from_the_environment():
    assert INSTANCE_VARS == {"DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_DB", "DAGSTER_PG_USERNAME",
                             "DAGSTER_PG_PASSWORD"}


def test_the_image_is_slim_non_root_and_pinned_by_the_constraints():
    text = DOCKERFILE.read_text()
    assert all("slim" in line for line in re.findall(r"^FROM .*$", text, re.M))
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert "COPY pyproject.toml constraints.txt" in text
    assert re.search(r"pip install -c constraints\.txt \.", text)
    assert ours(dockerfile_env()) <= CODE_VARS


def test_compose_uses_one_leadroute_image_and_sets_what_each_service_reads():
    services = compose()["services"]
    leadroute = {name: s for name, s in services.items() if s["image"].startswith("leadroute:")}
    assert {"daemon", "webserver"} <= set(leadroute) and any(n.startswith("code-server-") for n in leadroute)
    assert len({s["image"] for s in leadroute.values()}) == 1
    for name, service in leadroute.items():
        env = service["environment"]
        assert ours(env) <= CODE_VARS, f"{name} sets variables no code reads: {ours(env) - CODE_VARS}"
        assert INSTANCE_VARS <= set(env), f"{name} cannot reach the instance database"
        assert env["DAGSTER_HOME"] == dockerfile_env()["DAGSTER_HOME"]
    for name, service in leadroute.items():
        if name.startswith("code-server-"):
            env = service["environment"]
            assert {VARIABLES["org"], VARIABLES["crm"], VARIABLES["warehouse"], VARIABLES["rules"]} <= set(env)
            mounts = {m.split(":")[1]: m.split(":")[0] for m in service["volumes"]}
            folder = env[VARIABLES["warehouse"]].rsplit("/", 1)[0]
            assert mounts.get(folder) in compose()["volumes"], "the warehouse lives on a named volume"


def test_compose_keeps_secrets_out_of_the_file():
    for name, service in compose()["services"].items():
        for var, value in service.get("environment", {}).items():
            if var in SECRET_VARS | {"DAGSTER_PG_PASSWORD", "POSTGRES_PASSWORD"}:
                assert str(value).startswith("${"), f"{name}: {var} is written in the file"


def test_compose_publishes_only_on_loopback_and_binds_all_interfaces_only_when_told():
    for name, service in compose()["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond this host"
    for path in (COMPOSE, DOCKERFILE, VALUES):
        for line in path.read_text().splitlines():
            if "0.0.0.0" in line and not line.lstrip().startswith("#"):
                assert re.match(r"^\s*[A-Z_]+_HOST:\s*0\.0\.0\.0\s*$", line), f"{path.name}: {line.strip()}"
    assert dockerfile_env()["CODE_SERVER_HOST"] == "127.0.0.1", "the image alone listens on loopback"


def test_the_compose_workspace_names_each_code_server_service():
    workspace = yaml.safe_load((COMPOSE.parent / "workspace.yaml").read_text())
    services = compose()["services"]
    for entry in workspace["load_from"]:
        server = entry["grpc_server"]
        service = services[server["host"]]
        assert service["environment"]["CODE_SERVER_PORT"] == str(server["port"])
        assert service["environment"][VARIABLES["org"]] == server["location_name"]


def test_helm_values_run_each_org_from_the_image_with_its_secrets_and_a_persistent_warehouse():
    v = values()
    assert v["runLauncher"]["type"] == "K8sRunLauncher"
    assert v["generatePostgresqlPasswordSecret"] is False and v["global"]["postgresqlSecretName"]
    assert v["postgresql"]["postgresqlScheme"] == yaml.safe_load(INSTANCE.read_text())["storage"]["postgres"][
        "postgres_db"]["scheme"]
    image = next(iter({s["image"] for s in compose()["services"].values() if s["image"].startswith("leadroute:")}))
    for deployment in v["dagster-user-deployments"]["deployments"]:
        assert f"{deployment['image']['repository']}:{deployment['image']['tag']}" == image
        assert deployment["codeServerArgs"] == ["-m", "pipelines.definitions"]
        env = deployment["env"]
        assert ours(env) <= CODE_VARS and not (SECRET_VARS & set(env))
        assert env[VARIABLES["org"]] == deployment["name"]
        assert deployment["envSecrets"], "credentials come from a Kubernetes secret"
        assert deployment["includeConfigInLaunchedRuns"]["enabled"], "runs get the secrets and the volume"
        claims = {vol["name"]: vol["persistentVolumeClaim"]["claimName"] for vol in deployment["volumes"]
                  if "persistentVolumeClaim" in vol}
        mount = next(m for m in deployment["volumeMounts"] if env[VARIABLES["warehouse"]].startswith(m["mountPath"]))
        assert mount["name"] in claims, "the warehouse is on a persistent volume"
        assert deployment["podSecurityContext"]["runAsNonRoot"] is True


@pytest.mark.parametrize(("helm_key", "instance_key"), [("runMonitoring", "run_monitoring"),
                                                        ("runRetries", "run_retries")])
def test_helm_and_the_local_instance_share_monitoring_and_retries(helm_key, instance_key):
    def snake(name: str) -> str:
        return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()

    helm = {snake(k): v for k, v in values()["dagsterDaemon"][helm_key].items()}
    local = yaml.safe_load(INSTANCE.read_text())[instance_key]
    shared = set(helm) & set(local) - {"poll_interval_seconds", "start_timeout_seconds"}  # cluster timings differ
    assert shared and {k: helm[k] for k in shared} == {k: local[k] for k in shared}


def test_helm_and_the_local_instance_limit_runs_per_org_the_same_way():
    helm = values()["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]["tagConcurrencyLimits"]
    local = yaml.safe_load(INSTANCE.read_text())["run_coordinator"]["config"]["tag_concurrency_limits"]
    assert helm == local
