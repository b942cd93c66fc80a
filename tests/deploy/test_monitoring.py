"""deploy/monitoring: the alert rules, their unit tests, Prometheus and Alertmanager
configurations and the dashboards, checked with Debian's promtool and amtool (scripts/test.sh
installs them); Prometheus scraping a running server."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from aiqleads.observability import dashboards
from tests.conftest import Backend
from tests.live import fresh_get, serve
from tests.monitoring_tools import ALERTS, MONITORING, ROOT, tool

RUNBOOK = ROOT / "docs" / "operations" / "alerts.md"


def run(*args: str, cwd: Path = MONITORING) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def alert_rules() -> list[dict[str, object]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_alert_rules_pass_promtool_check() -> None:
    res = run(tool("promtool"), "check", "rules", str(ALERTS))
    assert res.returncode == 0, res.stdout + res.stderr


def test_alert_rules_pass_their_unit_tests() -> None:
    # Each alert fires on its series and stays silent before (tests/alerts_test.yml)
    res = run(tool("promtool"), "test", "rules", "tests/alerts_test.yml")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS" in res.stdout


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    tests = yaml.safe_load((MONITORING / "tests" / "alerts_test.yml").read_text())["tests"]
    firing: set[str] = set()
    silent: set[str] = set()
    for case in tests:
        for check in case["alert_rule_test"]:
            (firing if check["exp_alerts"] else silent).add(check["alertname"])
    names = {str(rule["alert"]) for rule in alert_rules()}
    assert names - firing == set(), "alerts never shown firing"
    assert names - silent == set(), "alerts never shown silent"


def test_every_alert_has_severity_area_summary_and_a_runbook_section() -> None:
    anchors = {
        "#" + re.sub(r"[^a-z0-9 -]", "", line[3:].strip().lower()).replace(" ", "-")
        for line in RUNBOOK.read_text().splitlines()
        if line.startswith("## ")
    }
    for rule in alert_rules():
        labels = rule["labels"]
        annotations = rule["annotations"]
        assert isinstance(labels, dict) and isinstance(annotations, dict)
        assert labels["severity"] in {"critical", "warning"}, rule["alert"]
        assert labels["kind"] in {"cause", "symptom"}, rule["alert"]
        assert labels["area"], rule["alert"]
        assert annotations["summary"] and annotations["description"], rule["alert"]
        url = str(annotations["runbook_url"])
        assert url.startswith("docs/operations/alerts.md#"), rule["alert"]
        assert url.split("alerts.md", 1)[1] in anchors, f"{rule['alert']}: no section {url}"


def test_prometheus_configuration_passes_promtool_check() -> None:
    res = run(tool("promtool"), "check", "config", "prometheus.yml")
    assert res.returncode == 0, res.stdout + res.stderr


def test_alertmanager_configuration_passes_amtool_check() -> None:
    res = run(tool("amtool"), "check-config", "alertmanager.yml")
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (["severity=critical", "area=infra", "kind=cause"], "oncall,ops-team"),
        (["severity=critical", "area=api"], "oncall,ops-team"),
        (["severity=critical", "area=payments"], "oncall,commerce-team"),
        (["severity=critical", "area=cart"], "oncall,commerce-team"),
        (["severity=warning", "area=payments"], "commerce-team"),
        (["severity=warning", "area=sources", "source=craigslist"], "data-team"),
        (["severity=warning", "area=ingestion"], "data-team"),
        (["severity=warning", "area=models"], "data-team"),
        (["severity=warning", "area=api"], "ops-team"),
        (["severity=warning", "area=webhooks"], "ops-team"),
        (["severity=warning", "area=cache"], "ops-team"),
    ],
)
def test_alerts_reach_the_receivers_of_their_severity_and_area(
    labels: list[str], receivers: str
) -> None:
    res = run(
        tool("amtool"),
        "config",
        "routes",
        "test",
        "--config.file=alertmanager.yml",
        f"--verify.receivers={receivers}",
        *labels,
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_dashboard_files_are_what_the_code_makes(tmp_path: Path) -> None:
    written = dashboards.write(tmp_path)
    shipped = MONITORING / "dashboards"
    assert sorted(p.name for p in shipped.glob("*.json")) == sorted(p.name for p in written)
    for path in written:
        assert (shipped / path.name).read_text() == path.read_text(), (
            f"{path.name} is stale: python -m aiqleads.observability.dashboards"
            " deploy/monitoring/dashboards"
        )


def test_every_dashboard_expression_parses_as_promql(tmp_path: Path) -> None:
    # Given every panel expression of every shipped dashboard, Grafana's variables given
    # values, as recording rules (promtool parses each rule's expression)
    rules = []
    for path in sorted((MONITORING / "dashboards").glob("*.json")):
        model = json.loads(path.read_text())
        assert model["panels"], path.name
        for i, expr in enumerate(dashboards.expressions(model)):
            concrete = expr.replace("$__rate_interval", "5m").replace("$source", ".*")
            assert "$" not in concrete, f"{path.name}: unknown variable in {expr}"
            rules.append(
                {"record": f"dashboard:{path.stem.replace('-', '_')}:{i}", "expr": concrete}
            )
    (tmp_path / "panels.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]})
    )
    # When promtool checks them, then each parses
    res = run(tool("promtool"), "check", "rules", str(tmp_path / "panels.yml"))
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"SUCCESS: {len(rules)} rules found" in res.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def prometheus_for(tmp_path: Path) -> Iterator[object]:
    """prometheus_for(target) starts Debian's Prometheus on loopback with the shipped
    configuration and rules, scraping only `target` every second; yields its base URL."""
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[object] = []

    def start(target: str) -> str:
        config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
        config["global"].update({"scrape_interval": "1s", "evaluation_interval": "1s"})
        config["rule_files"] = [str(ALERTS)]
        config.pop("alerting")
        [api] = [job for job in config["scrape_configs"] if job["job_name"] == "aiqleads-api"]
        api["static_configs"] = [{"targets": [target]}]
        config["scrape_configs"] = [api]
        path = tmp_path / "prometheus.yml"
        path.write_text(yaml.safe_dump(config))
        port = _free_port()
        log = (tmp_path / "prometheus.log").open("w")
        logs.append(log)
        procs.append(
            subprocess.Popen(
                [
                    tool("prometheus"),
                    f"--config.file={path}",
                    f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{base}/-/ready", timeout=1).status_code == 200:
                    return base
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"prometheus did not start: {(tmp_path / 'prometheus.log').read_text()}")

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=30)
    for log in logs:
        log.close()  # type: ignore[attr-defined]


def _query(base: str, promql: str) -> list[dict[str, object]]:
    res = httpx.get(f"{base}/api/v1/query", params={"query": promql}, timeout=5).json()
    assert res["status"] == "success", res
    return list(res["data"]["result"])


@pytest.mark.slow
def test_prometheus_scrapes_the_app_and_loads_the_rules(
    backend: Backend, engine: object, tmp_path: Path, prometheus_for: object
) -> None:
    # Given a running server and Prometheus scraping it with the shipped configuration
    with serve(backend, tmp_path) as base:
        target = base.removeprefix("http://")
        for _ in range(7):
            assert fresh_get(f"{base}/health").status_code == 200
        prometheus = prometheus_for(target)  # type: ignore[operator]
        # When Prometheus has scraped it, then the count of /health calls reads back
        query = 'aiq_http_requests_total{job="aiqleads-api",route="/health",status="200"}'
        found: list[dict[str, object]] = []
        for _ in range(200):
            found = _query(prometheus, query)
            if found:
                break
            time.sleep(0.1)
        assert found, "no sample scraped"
        value = found[0]["value"]
        assert isinstance(value, list) and float(value[1]) == 7.0
        # And the database answers, as the app reports at each scrape
        up = _query(prometheus, 'aiq_dependency_up{dependency="database"}')
        assert up and up[0]["value"][1] == "1"  # type: ignore[index]
        # And every rule group of alerts.yml is loaded
        rules = httpx.get(f"{prometheus}/api/v1/rules", timeout=5).json()["data"]["groups"]
    shipped = yaml.safe_load(ALERTS.read_text())["groups"]
    assert sorted(g["name"] for g in rules) == sorted(g["name"] for g in shipped)
