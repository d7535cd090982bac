"""The Prometheus alert rules: promtool finds them valid and their unit tests pass; every
alert has its annotations, a runbook line, and a firing and a not-firing unit test; the
metrics they use are ones the worker exposes."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.promql import (
    ALERTS,
    BUILT_IN,
    JOB,
    alert_rules,
    exposed_names,
    metric_names,
    promtool,
)

PROMETHEUS = ALERTS.parent
ALERT_TESTS = PROMETHEUS / "alerts.test.yml"
#: The alerts issue 8 asks for, by the condition each one watches.
REQUIRED = {
    "ArticleWorkerDown",  # worker down
    "ArticleWorkerLagHigh",  # lag high and growing
    "ArticleWorkerNoProgress",  # no progress while lag > 0
    "ArticleWorkerDeadLetterRatioHigh",
    "ArticleWorkerProcessingSlow",  # processing p99 high
    "ArticleWorkerRebalancingOften",
    # Issue 10, duplicate detection:
    "ArticleWorkerDedupStuck",  # articles wait for band verdicts, none published
    "ArticleWorkerDedupPendingGrowing",
}


def unit_cases() -> dict[str, list[list[Any]]]:
    """For each alert name, the expected alerts of every unit-test evaluation of it."""
    found: dict[str, list[list[Any]]] = {}
    for test in yaml.safe_load(ALERT_TESTS.read_text())["tests"]:
        for case in test.get("alert_rule_test", []):
            found.setdefault(case["alertname"], []).append(case.get("exp_alerts") or [])
    return found


def test_promtool_checks_the_rules_clean() -> None:
    result = promtool("check", "rules", ALERTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in result.stdout
    # Lint findings (promtool check rules --lint is on by default) come on stderr.
    assert not result.stderr.strip(), result.stderr


def test_promtool_unit_tests_pass() -> None:
    result = promtool("test", "rules", ALERT_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_unit_tests_fail_when_an_alert_never_fires(tmp_path: Path) -> None:
    """The unit tests can fail: with one alert's condition made impossible, they do."""
    rules = yaml.safe_load(ALERTS.read_text())
    rules["groups"][0]["rules"][0]["expr"] = "vector(1) == 2"
    (tmp_path / "alerts.yml").write_text(yaml.safe_dump(rules))
    shutil.copy(ALERT_TESTS, tmp_path / "alerts.test.yml")
    result = promtool("test", "rules", tmp_path / "alerts.test.yml")
    assert result.returncode != 0
    assert rules["groups"][0]["rules"][0]["alert"] in result.stdout + result.stderr


def test_every_required_alert_exists() -> None:
    names = [a["alert"] for a in alert_rules()]
    assert len(names) == len(set(names)), names
    assert set(names) >= REQUIRED


@pytest.mark.parametrize("alert", alert_rules(), ids=lambda a: str(a["alert"]))
def test_each_alert_has_a_summary_description_and_one_line_runbook(
    alert: dict[str, Any],
) -> None:
    notes = alert["annotations"]
    assert notes["summary"].strip()
    assert notes["description"].strip()
    runbook = notes["runbook"].strip()
    assert runbook
    assert "\n" not in runbook
    assert alert["labels"]["severity"] in {"warning", "critical"}


@pytest.mark.parametrize("alert", alert_rules(), ids=lambda a: str(a["alert"]))
def test_each_alert_has_a_firing_and_a_not_firing_unit_test(alert: dict[str, Any]) -> None:
    cases = unit_cases().get(alert["alert"], [])
    assert any(expected for expected in cases), f"{alert['alert']}: no firing case"
    assert any(not expected for expected in cases), f"{alert['alert']}: no not-firing case"
    for expected in cases:
        for one in expected:
            # promtool compares annotations exactly, so a firing case checks the runbook.
            assert one["exp_annotations"]["runbook"] == alert["annotations"]["runbook"]


@pytest.mark.parametrize("alert", alert_rules(), ids=lambda a: str(a["alert"]))
def test_each_alert_uses_metrics_the_worker_exposes(alert: dict[str, Any]) -> None:
    names = metric_names(alert["expr"])
    assert names
    assert not names - exposed_names() - BUILT_IN, alert["expr"]
    assert alert["expr"].count(f'job="{JOB}"') >= len(names)
