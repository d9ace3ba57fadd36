"""Static checks of deploy/ and the dependency lock (tests/containers/ runs them on an engine).

Compose files parse; every service has an image or a build whose context and Dockerfile exist;
every MLWB_* variable is a setting with the same default; published ports are the settings'
ports on 127.0.0.1; every long-running service has a health check, a restart policy and a named
volume; Dockerfile COPY sources exist and are not ignored; modules and commands exist; the
Kubernetes manifest hangs together; requirements*.lock satisfy pyproject.toml, with hashes.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mlworkbench.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILES = [DEPLOY / "compose.yaml", DEPLOY / "compose.minio.yaml"]
DOCKERFILES = sorted(p for p in DEPLOY.glob("Dockerfile.*") if p.suffix != ".dockerignore")
COMPOSE_ONLY = {"MLWB_IMAGE", "MLWB_BASE_IMAGE", "MLWB_S3_IMAGE", "MLWB_POSTGRES_IMAGE",
                "MLWB_MINIO_IMAGE", "MLWB_NGINX_IMAGE", "MLWB_API_REPLICAS",
                "MLWB_BALANCER_PORT"}  # image choices and the balancer: compose's, not Python's
PLACEHOLDERS: set[str] = set()  # services a later part of the project fills in
PUBLISHED = {"postgres": "postgres_port", "s3": "s3_port", "mlflow": "mlflow_port",
             "api": "serve_port", "monitoring": "monitoring_port", "jobs": "jobs_port",
             "evidently": "evidently_port",
             "simulator": "simulator_port", "classifier": "classifier_port"}
VARIABLE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?::-(?P<default>[^}]*))?\}")


def _compose(path: Path = COMPOSE_FILES[0]) -> dict:
    return yaml.safe_load(path.read_text())


def _defaults() -> dict[str, object]:
    return {f"MLWB_{name.upper()}": field.default for name, field in Settings.model_fields.items()}


def test_dockerfiles_and_compose_files_exist() -> None:
    assert {p.name for p in DOCKERFILES} == {"Dockerfile.base", "Dockerfile.model"}
    for path in COMPOSE_FILES:
        assert isinstance(_compose(path)["services"], dict), path


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_every_mlwb_variable_is_a_setting_with_its_default(path: Path) -> None:
    defaults = _defaults()
    for match in VARIABLE.finditer(path.read_text()):
        name, default = match["name"], match["default"]
        if not name.startswith("MLWB_") or name in COMPOSE_ONLY:
            continue
        assert name in defaults, f"{path.name}: {name} is not a setting of config.py"
        if default is not None:  # an unset setting (None) is an empty default
            expected = "" if defaults[name] is None else str(defaults[name])
            assert default == expected, f"{path.name}: {name} defaults differ"


def test_service_environments_name_only_real_settings() -> None:
    defaults = _defaults()
    for name, service in _compose()["services"].items():
        for key in service.get("environment", {}):
            if key.startswith("MLWB_"):
                assert key in defaults, f"service {name}: {key} is not a setting"


def test_every_service_has_an_image_or_a_build_that_exists() -> None:
    for name, service in _compose()["services"].items():
        assert service.get("image") or service.get("build"), f"service {name}: no image"
        build = service.get("build")
        if build:
            context = (DEPLOY / build["context"]).resolve()
            assert context.is_dir(), f"service {name}: build context {context} missing"
            assert (context / build["dockerfile"]).is_file(), f"service {name}: no Dockerfile"


def test_published_ports_are_the_settings_ports() -> None:
    services = _compose()["services"]
    for name, setting in PUBLISHED.items():
        [published] = services[name]["ports"]
        host, port = published.split(":")[0], published.split(":", 1)[1].rsplit(":", 1)[0]
        assert host == Settings.model_fields["stack_host"].default
        assert port == f"${{MLWB_{setting.upper()}:-{Settings.model_fields[setting].default}}}"


def test_dependencies_exist_and_core_services_have_health_checks() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        for needed in service.get("depends_on", {}):
            assert needed in services, f"service {name} depends on unknown {needed}"
    for name in ("postgres", "s3", "mlflow", "api"):
        assert services[name].get("healthcheck"), f"service {name} has no health check"
    mounted = [v.split(":")[0] for v in services["postgres"]["volumes"] if v.startswith("./")]
    assert all((DEPLOY / source).is_file() for source in mounted)


def test_mlflow_server_is_lean_offline_and_reachable_by_name() -> None:
    mlflow = _compose()["services"]["mlflow"]
    command, env = mlflow["command"], mlflow["environment"]
    assert command[command.index("--workers") + 1] == "1"
    assert "--serve-artifacts" in command
    assert command[command.index("--backend-store-uri") + 1].startswith("postgresql+psycopg2://")
    assert env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    assert env["MLFLOW_DISABLE_TELEMETRY"] == "true"
    assert "mlflow:5000" in env["MLFLOW_SERVER_ALLOWED_HOSTS"].split(",")


def test_python_modules_and_cli_commands_in_commands_exist() -> None:
    from mlworkbench.cli.main import app

    commands = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    for name, service in _compose()["services"].items():
        command = service.get("command") or []
        if command[:2] == ["python", "-m"]:
            assert importlib.util.find_spec(command[2]), f"service {name}: no module {command[2]}"
        if command[:1] == ["mlwb"] and not command[1].startswith("-"):
            assert command[1] in commands, f"service {name}: no `mlwb {command[1]}`"


def test_long_running_services_have_health_restart_volume_and_loopback_ports() -> None:
    compose = _compose()
    for name, service in compose["services"].items():
        if service.get("restart") == "no" or name in PLACEHOLDERS:
            continue  # one-off jobs (s3-init, cli) and placeholders
        assert service.get("healthcheck"), f"service {name} has no health check"
        assert service.get("restart") == "unless-stopped", f"service {name}: restart policy"
        named = [v.split(":")[0] for v in service.get("volumes", [])]
        assert set(named) & set(compose["volumes"]), f"service {name} has no named volume"
        for published in service.get("ports", []):
            assert published.startswith("127.0.0.1:"), f"service {name} publishes {published}"


def test_replicas_sit_behind_nginx_that_retries_a_failed_upstream() -> None:
    services = _compose()["services"]
    replica, nginx = services["api-replica"], services["nginx"]
    assert replica["command"] == services["api"]["command"] and not replica.get("ports")
    assert replica["deploy"]["replicas"] == "${MLWB_API_REPLICAS:-3}"
    assert nginx["depends_on"]["api-replica"]["condition"] == "service_healthy"
    conf = (DEPLOY / "nginx" / "nginx.conf").read_text()
    port = replica["command"][replica["command"].index("--port") + 1]
    assert f"server api-replica:{port}" in conf
    assert re.search(r"proxy_next_upstream error timeout http_502 http_503", conf)
    [published] = nginx["ports"]
    assert published.endswith(":" + re.search(r"listen (\d+);", conf)[1])


def test_kubernetes_deployment_and_service_agree() -> None:
    deployment, service = yaml.safe_load_all((DEPLOY / "k8s" / "api.yaml").read_text())
    assert (deployment["kind"], service["kind"]) == ("Deployment", "Service")
    template = deployment["spec"]["template"]
    labels = template["metadata"]["labels"].items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels
    assert service["spec"]["selector"].items() <= labels
    [container] = template["spec"]["containers"]
    named_ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    [port] = service["spec"]["ports"]
    assert port["targetPort"] in named_ports
    command = container["command"]
    assert named_ports[port["targetPort"]] == int(command[command.index("--port") + 1])
    assert command[:3] == _compose()["services"]["api"]["command"][:2] + [
        "models:/movielens-recommender@champion"]
    defaults = _defaults()
    assert all(e["name"] in defaults for e in container["env"] if e["name"].startswith("MLWB_"))
    paths = {route.path for route in _api_routes()}
    assert container["readinessProbe"]["httpGet"]["path"] in paths
    assert container["livenessProbe"]["httpGet"]["path"] in paths
    assert deployment["spec"]["replicas"] >= 2


def _api_routes() -> list:
    """Every route the API's routers declare (serving/routes/*.py)."""
    from fastapi.routing import APIRoute

    from mlworkbench.serving import routes

    found = []
    for info in pkgutil.iter_modules(routes.__path__):
        module = importlib.import_module(f"{routes.__name__}.{info.name}")
        router = getattr(module, "router", None)
        found += [r for r in getattr(router, "routes", []) if isinstance(r, APIRoute)]
    return found


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_copy_sources_exist_and_are_sent(dockerfile: Path) -> None:
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    sent = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copies = [shlex.split(line)[1:-1] for line in dockerfile.read_text().splitlines()
              if line.startswith("COPY ")]
    assert copies, f"{dockerfile.name} copies nothing"
    for sources in copies:
        for source in (s for s in sources if not s.startswith("--")):
            assert (ROOT / source).exists(), f"{dockerfile.name}: COPY {source} does not exist"
            assert source.rstrip("/") in sent, f"{dockerfile.name}: {source} is .dockerignored"


def test_model_image_builds_on_the_base_image_compose_and_make_name() -> None:
    arg = re.search(r"ARG BASE_IMAGE=(\S+)", (DEPLOY / "Dockerfile.model").read_text())
    assert arg, "Dockerfile.model takes no BASE_IMAGE"
    assert f"${{MLWB_BASE_IMAGE:-{arg[1]}}}" in (DEPLOY / "compose.yaml").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(rf"^BASE_IMAGE \?= {re.escape(arg[1])}$", makefile, re.M)
    for target in ("build_base_container", "build_model_container", "start_mlflow_services",
                   "stop_mlflow_services"):
        assert re.search(rf"^{target}:", makefile, re.M), f"Makefile has no {target}"


def _locked(path: Path) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) of a requirements lock."""
    text = path.read_text()
    pinned = r"^([A-Za-z0-9_.\-]+)==(\S+)((?:\s*\\\n\s+--hash=sha256:[0-9a-f]{64})*)"
    return {canonicalize_name(name): (version, hashes.count("--hash="))
            for name, version, hashes in re.findall(pinned, text, re.M)}


@pytest.mark.parametrize(("lock", "extras"), [("requirements.lock", ()),
                                              ("requirements-test.lock", ("test", "spark"))])
def test_lock_satisfies_pyproject_with_hashes(lock: str, extras: tuple[str, ...]) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in project["dependencies"]]
    wanted += [Requirement(r) for extra in extras for r in project["optional-dependencies"][extra]]
    locked = _locked(ROOT / lock)
    assert locked, f"{lock} has no pinned requirement"
    unhashed = [name for name, (_, hashes) in locked.items() if hashes == 0]
    assert not unhashed, f"{lock}: no hash for {unhashed}"
    target = {"python_version": "3.11", "python_full_version": "3.11.0", "sys_platform": "linux",
              "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
              "implementation_name": "cpython", "platform_python_implementation": "CPython"}
    for requirement in wanted:
        if requirement.marker and not requirement.marker.evaluate(target):
            continue
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{lock} lacks {requirement.name}: run `make lock`"
        version = locked[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{lock} pins {name}=={version}, pyproject.toml wants {requirement}: run `make lock`")
