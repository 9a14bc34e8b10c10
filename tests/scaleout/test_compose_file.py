"""deploy/compose.yaml cannot run here (no Docker), so read it: the services it names, settings the app
accepts, instances that agree with each other, and an nginx upstream rewritten onto the app containers."""

import re
from pathlib import Path

import yaml

from settings import Settings, load_settings
from tests.support.nginx import SITE_CONFIG
from tests.support.server import ROOT

DEPLOY = ROOT / "deploy"
INTERPOLATION = re.compile(r"\$\{(\w+)(?::-([^}]*)|:\?[^}]*)?\}")


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def interpolated(value: str) -> str:
    """What compose would pass, with defaults taken and required variables set to a placeholder."""
    return INTERPOLATION.sub(lambda m: m.group(2) if m.group(2) is not None else f"given-{m.group(1).lower()}", value)


def apps(services: dict) -> dict[str, dict[str, str]]:
    return {
        name: {key: interpolated(str(value)) for key, value in service["environment"].items()}
        for name, service in services.items()
        if name.startswith("app")
    }


def test_compose_names_postgres_redis_two_apps_and_nginx():
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "app1", "app2", "nginx"}
    for name in ("app1", "app2"):
        build = services[name]["build"]
        assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
        assert set(services[name]["depends_on"]) == {"postgres", "redis"}
    assert set(services["nginx"]["depends_on"]) == {"app1", "app2"}


def test_every_instance_is_configured_with_settings_the_app_accepts_and_shares_one_site():
    services = compose()["services"]
    environments = apps(services)
    known = {name.upper() for name in Settings.model_fields}
    for env in environments.values():
        assert set(env) <= known, set(env) - known
        settings = load_settings(**{key.lower(): value for key, value in env.items()})
        assert settings.market_feed == "simulator"  # the leader lock makes one of them publish
        assert not settings.is_sqlite and settings.redis_url
    shared = ("DATABASE_URL", "REDIS_URL", "STORAGE_SECRET", "FORWARDED_ALLOW_IPS")
    assert all(len({env[key] for env in environments.values()}) == 1 for key in shared)
    assert len({env["INSTANCE_NAME"] for env in environments.values()}) == len(environments)
    nginx_address = services["nginx"]["networks"]["sherwood"]["ipv4_address"]
    assert {env["FORWARDED_ALLOW_IPS"] for env in environments.values()} == {nginx_address}


def test_nginx_serves_the_repos_site_file_with_the_upstream_on_the_app_containers():
    nginx = compose()["services"]["nginx"]
    mounted = {Path(v.split(":")[1]): (DEPLOY / v.split(":")[0]).resolve() for v in nginx["volumes"]}
    assert mounted == {Path("/etc/sherwood/sherwood.conf"): SITE_CONFIG}
    script = nginx["command"][-1]
    site = SITE_CONFIG.read_text()
    for old, new in re.findall(r"-e 's/([^/]+)/([^/]+)/'", script):
        assert site.count(old) == 1, old
        site = site.replace(old, new)
    upstream = re.search(r"upstream sherwood \{(.*?)\}", site, re.DOTALL).group(1)
    assert re.findall(r"server (\S+) ", upstream) == ["app1:8080", "app2:8080"]
    assert "> /etc/nginx/conf.d/default.conf" in script and "daemon off;" in script
