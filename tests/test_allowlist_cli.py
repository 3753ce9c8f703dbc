"""Tests for the ``mpsverify allowlist`` subcommands: check, show and explain."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

import mpsverify.allowlist_explain as explain_module
from mpsverify.allowlist import Allowlist, default_allowlist, shipped_allowlist_path
from mpsverify.allowlist_cli import add_allowlist_parser
from mpsverify.allowlist_explain import explain_target


class UsageError(Exception):
    """Raised by the test parser where argparse would exit."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def run(*argv: str) -> int:
    """Parse ``mpsverify allowlist ...`` arguments and run the handler; 64 for a usage error."""
    parser = Parser(prog="mpsverify")
    add_allowlist_parser(parser.add_subparsers(dest="command", required=True, parser_class=Parser))
    try:
        args = parser.parse_args(["allowlist", *argv])
    except UsageError:
        return 64
    status: int = args.handler(args)
    return status


@pytest.fixture(autouse=True)
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the config locations at empty folders so the machine's own files do not count."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("MPSVERIFY_ALLOWLIST", raising=False)
    monkeypatch.delenv("MPSVERIFY_ALLOWLIST_EXTRA", raising=False)
    monkeypatch.setattr("mpsverify.allowlist_layers.SYSTEM_CONFIG_PATH", tmp_path / "etc" / "allowlist.yaml")
    yield


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# check


def test_check_shipped_data_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("check") == 0
    out = capsys.readouterr().out
    assert f"{shipped_allowlist_path()}: valid" in out
    assert "effective allowlist: valid" in out


def test_check_shipped_file_by_name() -> None:
    assert run("check", str(shipped_allowlist_path())) == 0


def test_check_names_file_line_and_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path / "bad.yaml", "version: 1\nentities:\n  - name: Survey Co\n    kind: partner\n"
                                       "    domains: [survey.example]\n    link_host: [x.example]\n")
    assert run("check", str(bad)) == 65
    out = capsys.readouterr().out
    assert f"{bad}:6: entity 1 (Survey Co): field 'link_host': unknown field" in out


def test_check_reports_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path / "bad.yaml", "version: 1\ncolour: red\nentities:\n  - {name: A, kind: x}\n")
    assert run("check", str(bad)) == 65
    captured = capsys.readouterr()
    assert f"{bad}:2: field 'colour'" in captured.out
    assert f"{bad}:4: entity 1 (A): field 'kind'" in captured.out
    assert "2 problems found" in captured.err


def test_check_unknown_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    future = write(tmp_path / "future.yaml", "version: 3\nentities: []\n")
    assert run("check", str(future)) == 65
    assert f"{future}:1: field 'version': 3 is not a supported schema version" in capsys.readouterr().out


def test_check_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("check", str(tmp_path / "missing.yaml")) == 66
    err = capsys.readouterr().err
    assert "cannot read the allowlist" in err
    assert len(err.strip().splitlines()) == 1


def test_check_layered_config_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    user = write(tmp_path / "config" / "mpsverify" / "allowlist.yaml",
                 "version: 1\nentities:\n  - name: Qualtrics\n    kind: organisation\n")
    assert run("check") == 65
    out = capsys.readouterr().out
    assert f"{user}: valid (user config, extend, 1 entity)" in out
    assert f"{user}:3: entity Qualtrics: field 'kind'" in out


def test_check_with_allowlist_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    own = write(tmp_path / "own.yaml", "version: 1\nentities:\n  - {name: A, kind: partner}\n")
    assert run("check", "--allowlist", str(own)) == 0
    out = capsys.readouterr().out
    assert f"{own}: valid (--allowlist, replace, 1 entity)" in out
    assert str(shipped_allowlist_path()) not in out


def test_check_file_and_option_is_usage_error(tmp_path: Path) -> None:
    assert run("check", "x.yaml", "--allowlist", "y.yaml") == 64


def test_missing_subcommand_is_usage_error() -> None:
    assert run() == 64


# show


def test_show_lists_entities_and_origins(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    extra = write(tmp_path / "extra.yaml", "version: 1\nentities:\n  - name: Qualtrics\n    kind: partner\n"
                                           "    brand_hosts: [mps.eu.qualtrics.com]\n")
    assert run("show", "--allowlist-extra", str(extra)) == 0
    out = capsys.readouterr().out
    assert f"1. {shipped_allowlist_path()} (shipped, replace)" in out
    assert f"2. {extra} (--allowlist-extra, extend)" in out
    assert "Trinity McQueen (partner, confidence inferred)" in out
    assert f"brand hosts: mps.eu.qualtrics.com (from {extra}:5)" in out
    assert f"extended by: {extra}" in out


def test_show_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("show", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["version"] == 1
    assert data["layers"][0]["role"] == "shipped"
    names = [entity["name"] for entity in data["entities"]]
    assert "Research By Design" in names
    qualtrics = next(entity for entity in data["entities"] if entity["name"] == "Qualtrics")
    assert qualtrics["open_platform"] is True
    assert qualtrics["origin"] == str(shipped_allowlist_path())
    assert qualtrics["listings"][0]["line"] > 0


def test_show_invalid_allowlist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path / "bad.yaml", "version: 1\nentities: [{name: A, kind: x}]\n")
    assert run("show", "--allowlist", str(bad)) == 65
    err = capsys.readouterr().err
    assert f"{bad}:2: entity 1 (A): field 'kind'" in err
    assert "Traceback" not in err


def test_show_unreadable_allowlist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("show", "--allowlist", str(tmp_path / "missing.yaml")) == 66
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


# explain


def test_explain_partner_link(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("explain", "https://survey.trinitymcqueen.com/x") == 0
    out = capsys.readouterr().out
    assert "belongs to Trinity McQueen (partner)" in out
    assert "lies beneath trinitymcqueen.com" in out
    assert str(shipped_allowlist_path()) in out


def test_explain_no_entity(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(explain_module, "_content_lookalike_finder", lambda: None)
    assert run("explain", "medicalprotectlon.org") == 1
    out = capsys.readouterr().out
    assert "medicalprotectlon.org belongs to no entity in the allowlist." in out
    assert "imitates" not in out


def test_explain_lookalike_from_content(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("explain", "medicalprotectlon.org") == 1
    out = capsys.readouterr().out
    assert "belongs to no entity" in out
    assert "imitates medicalprotection.org" in out


class FakeMatch:
    imitated = "medicalprotection.org"
    description = "characters that look like the real ones"

    def __init__(self, allowlist: Allowlist) -> None:
        self.entity = allowlist.entity_for_domain("medicalprotection.org")


def test_explain_reports_lookalike_match() -> None:
    explanation = explain_target("medicalprotectlon.org", default_allowlist(),
                                 finder=lambda domain, allowlist: FakeMatch(allowlist))
    assert explanation.entity is None
    assert explanation.lookalike is not None
    assert explanation.lookalike.entity_name == "Medical Protection Society"
    assert explanation.lines[-1].startswith(
        "It imitates medicalprotection.org (Medical Protection Society): characters that look like the real ones.")


def test_explain_entity_domain_skips_lookalike() -> None:
    def fail(domain: str, allowlist: Allowlist) -> None:
        raise AssertionError("the lookalike check ran for an entity domain")

    explanation = explain_target("www.medicalprotection.org", default_allowlist(), finder=fail)
    assert explanation.entity is not None
    assert explanation.entity.name == "Medical Protection Society"


@pytest.mark.parametrize(("target", "entity", "field"), [
    ("noreply@qemailserver.com", "Qualtrics", "domains"),
    ("https://mps.eu.qualtrics.com/jfe/form/SV_1", "Qualtrics", "link_hosts"),
    ("survey.trinitymcqueen.com/x", "Trinity McQueen", "domains"),
    ("HTTPS://WWW.DENTALPROTECTION.ORG:443/path", "Medical Protection Society", "domains"),
    ("thempsfoundation.org.", "MPS Foundation", "domains"),
])
def test_explain_targets(target: str, entity: str, field: str) -> None:
    explanation = explain_target(target, default_allowlist(), finder=lambda domain, allowlist: None)
    assert explanation.entity is not None
    assert explanation.entity.name == entity
    assert explanation.field == field


def test_explain_userinfo_link() -> None:
    explanation = explain_target("https://medicalprotection.org@evil.example/login", default_allowlist(),
                                 finder=lambda domain, allowlist: None)
    assert explanation.target.host == "evil.example"
    assert explanation.entity is None
    assert any("user-info" in line for line in explanation.lines)


def test_explain_open_platform_caveat(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("explain", "qemailserver.com") == 0
    assert "open platform" in capsys.readouterr().out


def test_explain_brand_host(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    extra = write(tmp_path / "extra.yaml", "version: 1\nentities:\n  - name: Qualtrics\n    kind: partner\n"
                                           "    brand_hosts: [mps.eu.qualtrics.com]\n")
    assert run("explain", "--allowlist-extra", str(extra), "https://mps.eu.qualtrics.com/jfe/form/SV_1") == 0
    out = capsys.readouterr().out
    assert "brand host of Medical Protection Society on Qualtrics" in out
    assert f"{extra} line 5" in out


def test_explain_neutral_host(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    extra = write(tmp_path / "extra.yaml", "version: 1\nneutral_link_hosts: [www.linkedin.com]\n")
    assert run("explain", "--allowlist-extra", str(extra), "https://www.linkedin.com/company/x") == 0
    assert "neutral link host" in capsys.readouterr().out


def test_explain_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("explain", "--json", "https://survey.trinitymcqueen.com/x") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["entity"] == "Trinity McQueen"
    assert data["host"] == "survey.trinitymcqueen.com"
    assert data["matched"] == "trinitymcqueen.com"
    assert data["listed_in"] == str(shipped_allowlist_path())


@pytest.mark.parametrize("target", ["", "https:///path", "http://[::1/"])
def test_explain_no_host_is_usage_error(target: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("explain", target) == 64
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


# Through the mpsverify command


def test_main_runs_allowlist_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mpsverify.cli import main

    assert main(["allowlist", "check"]) == 0
    assert main(["allowlist", "explain", "https://survey.trinitymcqueen.com/x"]) == 0
    assert "Trinity McQueen" in capsys.readouterr().out
    bad = write(tmp_path / "bad.yaml", "version: 1\nentities: [{name: A, kind: vendor}]\n")
    assert main(["allowlist", "check", str(bad)]) == 65
    assert "field 'kind'" in capsys.readouterr().out
    assert main(["allowlist"]) == 64
