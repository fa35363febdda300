"""docs/monitoring: the Grafana dashboard and the alert rules name only
metrics and labels that a real scrape has; docs/operations.md describes
every metric the app exposes."""

import json
import re

import pytest
import webtest
import yaml

from .support import ALICE, ROOT, build_app, dispose, new_instance
from .test_metrics import ON

MONITORING = ROOT / "docs" / "monitoring"
METRIC = re.compile(r"\blambda_registry_[a-z_]+")
MATCHER = re.compile(r'(\w+)\s*(=~|!=|=)\s*"([^"]*)"')
GROUPING = re.compile(r"\bby\s*\(([^)]*)\)")


@pytest.fixture
def scraped(database_url, clean_db):
    """{sample name: {label: {values}}} of a real scrape, after a few requests."""
    from prometheus_client.parser import text_string_to_metric_families

    app = build_app(database_url, **ON)
    try:
        test = webtest.TestApp(app)
        test.post_json("/api/lambda_instances/", new_instance(), headers=ALICE)
        test.get("/api/lambda_instances/", status=401)
        text = test.get("/__metrics__").text
    finally:
        dispose(app)
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = found.setdefault(sample.name, {})
            for name, value in sample.labels.items():
                labels.setdefault(name, set()).add(value)
    return found


def dashboard_expressions():
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    assert dashboard["panels"] and dashboard["title"] == "lambda_registry"
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def alert_expressions():
    rules = yaml.safe_load((MONITORING / "prometheus-alerts.yml").read_text())
    found = [rule for group in rules["groups"] for rule in group["rules"]]
    assert {rule["alert"] for rule in found} >= {
        "LambdaRegistryIdentityServiceUnavailable", "LambdaRegistryDatabaseUnavailable",
        "LambdaRegistryHighServerErrorRate", "LambdaRegistrySlowRequests"}
    return [rule["expr"] for rule in found]


def check_expression(expression, scraped):
    names = METRIC.findall(expression)
    assert names, expression
    for name in names:
        assert name in scraped, f"{name} is not in a scrape ({expression})"
    labels = set().union(*(scraped[name] for name in names)) | {"le"}
    for label, operator, value in MATCHER.findall(expression):
        assert label in labels, f"no label {label} on {names}"
        seen = set().union(*(scraped[name].get(label, set()) for name in names))
        if operator == "=":
            assert value in seen, f'{label}="{value}" matches nothing the app exposes'
        elif operator == "=~" and re.fullmatch(r"[\w|]+", value):
            for alternative in value.split("|"):
                assert alternative in seen, f'{label}=~"{value}": {alternative} is never exposed'
    for grouping in GROUPING.findall(expression):
        for label in (part.strip() for part in grouping.split(",")):
            assert label in labels, f"by ({label}): no such label on {names}"


@pytest.mark.parametrize("source", ["dashboard", "alerts"])
def test_every_expression_names_what_a_scrape_has(source, scraped):
    expressions = dashboard_expressions() if source == "dashboard" else alert_expressions()
    for expression in expressions:
        check_expression(expression, scraped)


def test_the_checker_would_see_a_wrong_name_or_label(scraped):
    with pytest.raises(AssertionError):
        check_expression("rate(lambda_registry_request_total[5m])", scraped)
    with pytest.raises(AssertionError):
        check_expression('lambda_registry_records{kind="clusters"}', scraped)
    with pytest.raises(AssertionError):
        check_expression("sum by (user) (rate(lambda_registry_requests_total[5m]))", scraped)


def test_operations_md_describes_every_metric(scraped):
    text = (ROOT / "docs" / "operations.md").read_text()
    families = {re.sub(r"_(total|bucket|count|sum|created)$", "", name) for name in scraped}
    for family in families:
        assert f"`{family}" in text, family
