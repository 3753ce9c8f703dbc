"""Tests for layering operator allowlist files over the shipped data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mpsverify.allowlist import Allowlist, AllowlistReadError, AllowlistValidationError
from mpsverify.allowlist_layers import allowlist_sources, load_effective_allowlist, user_config_path

SHIPPED = """\
version: 1
organisation: Shipped Org
entities:
  - name: Org
    kind: organisation
    domains: [org.example]
    source: shipped facts
    confidence: seen
  - name: Platform
    kind: partner
    domains: [platform.example]
    link_hosts: ["*.platform.example"]
    open_platform: true
    source: shipped facts
    confidence: seen
neutral_link_hosts: [social.example]
"""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """Create the shipped file and empty config locations; return the paths by role."""
    shipped = tmp_path / "shipped.yaml"
    shipped.write_text(SHIPPED, encoding="utf-8")
    return {
        "shipped": shipped,
        "system": tmp_path / "etc" / "mpsverify" / "allowlist.yaml",
        "home": tmp_path / "home",
        "user": tmp_path / "home" / ".config" / "mpsverify" / "allowlist.yaml",
        "dir": tmp_path,
    }


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load(files: dict[str, Path], replace: Path | None = None, extra: tuple[Path, ...] = (),
         environ: dict[str, str] | None = None) -> Allowlist:
    env = {"HOME": str(files["home"]), **(environ or {})}
    return load_effective_allowlist(replace, extra, env, system_config=files["system"], shipped=files["shipped"])


def names(allowlist: Allowlist) -> list[str]:
    return [entity.name for entity in allowlist.entities]


def test_shipped_alone(files: dict[str, Path]) -> None:
    allowlist = load(files)
    assert names(allowlist) == ["Org", "Platform"]
    assert [layer.role for layer in allowlist.layers] == ["shipped"]
    assert allowlist.origins == (str(files["shipped"]),)


def test_user_config_extends(files: dict[str, Path]) -> None:
    write(files["user"], "version: 1\nentities:\n  - name: Portal\n    kind: portal\n"
                         "    link_hosts: [portal.example]\n")
    allowlist = load(files)
    assert names(allowlist) == ["Org", "Platform", "Portal"]
    portal = allowlist.entity_by_name("Portal")
    assert portal is not None
    assert portal.origin == str(files["user"])
    assert portal.confidence == "configured"
    assert [layer.role for layer in allowlist.layers] == ["shipped", "user config"]


def test_same_name_adds_hosts(files: dict[str, Path]) -> None:
    write(files["user"], "version: 1\nentities:\n  - name: platform\n    kind: partner\n"
                         "    brand_hosts: [org.platform.example]\n")
    platform = load(files).entity_by_name("Platform")
    assert platform is not None
    assert platform.name == "Platform"
    assert platform.brand_hosts == ("org.platform.example",)
    assert platform.link_hosts == ("*.platform.example",)
    assert platform.open_platform
    assert platform.source == "shipped facts"
    assert platform.origin == str(files["shipped"])
    assert platform.extended_by == (str(files["user"]),)
    listing = platform.listing("brand_hosts", "org.platform.example")
    assert listing is not None
    assert listing.origin == str(files["user"])
    assert listing.line == 5


def test_same_name_sets_only_declared_fields(files: dict[str, Path]) -> None:
    write(files["user"], "version: 1\nentities:\n  - name: Org\n    kind: organisation\n"
                         "    domains: [org.example, org2.example]\n    notes: our second domain\n")
    org = load(files).entity_by_name("Org")
    assert org is not None
    assert org.domains == ("org.example", "org2.example")
    assert org.notes == "our second domain"
    assert org.confidence == "seen"
    assert org.source == "shipped facts"


def test_kind_change_rejected(files: dict[str, Path]) -> None:
    write(files["user"], "version: 1\nentities:\n  - name: Platform\n    kind: organisation\n")
    with pytest.raises(AllowlistValidationError) as raised:
        load(files)
    problem = raised.value.problems[0]
    assert problem.file == str(files["user"])
    assert problem.field == "kind"
    assert problem.line == 3


def test_domain_in_two_entities_rejected(files: dict[str, Path]) -> None:
    write(files["user"], "version: 1\nentities:\n  - name: Other\n    kind: partner\n"
                         "    domains: [org.example]\n")
    with pytest.raises(AllowlistValidationError) as raised:
        load(files)
    problem = raised.value.problems[0]
    assert problem.field == "domains"
    assert problem.line == 5
    assert "already listed by Org" in problem.message


def test_system_then_user_order(files: dict[str, Path]) -> None:
    write(files["system"], "version: 1\norganisation: System Org\nneutral_link_hosts: [system.example]\n")
    write(files["user"], "version: 1\norganisation: User Org\nneutral_link_hosts: [user.example]\n")
    allowlist = load(files)
    assert allowlist.organisation == "User Org"
    assert allowlist.neutral_link_hosts == ("social.example", "system.example", "user.example")
    assert dict(allowlist.neutral_origins)["system.example"] == str(files["system"])
    assert [layer.role for layer in allowlist.layers] == ["shipped", "system config", "user config"]


def test_config_mode_replace(files: dict[str, Path]) -> None:
    write(files["system"], "version: 1\nmode: replace\nentities:\n  - {name: Only, kind: organisation, "
                           "domains: [only.example]}\n")
    allowlist = load(files)
    assert names(allowlist) == ["Only"]
    assert allowlist.neutral_link_hosts == ()
    assert [layer.role for layer in allowlist.layers] == ["system config"]


def test_user_replace_discards_system(files: dict[str, Path]) -> None:
    write(files["system"], "version: 1\nentities:\n  - {name: Sys, kind: partner, domains: [sys.example]}\n")
    write(files["user"], "version: 1\nmode: replace\nentities:\n  - {name: Mine, kind: organisation}\n")
    assert names(load(files)) == ["Mine"]


def test_xdg_config_home(files: dict[str, Path]) -> None:
    config_home = files["dir"] / "xdg"
    write(config_home / "mpsverify" / "allowlist.yaml", "version: 1\norganisation: XDG Org\n")
    assert load(files, environ={"XDG_CONFIG_HOME": str(config_home)}).organisation == "XDG Org"


def test_relative_xdg_config_home_ignored() -> None:
    path = user_config_path({"XDG_CONFIG_HOME": "relative/dir", "HOME": "/home/op"})
    assert path == Path("/home/op/.config/mpsverify/allowlist.yaml")
    assert user_config_path({}) is None


def test_environment_replace_skips_config(files: dict[str, Path]) -> None:
    write(files["user"], "version: 1\nthis is: not valid\n")
    replacement = write(files["dir"] / "env.yaml", "version: 1\nentities:\n  - {name: Env, kind: partner}\n")
    allowlist = load(files, environ={"MPSVERIFY_ALLOWLIST": str(replacement)})
    assert names(allowlist) == ["Env"]
    assert [layer.role for layer in allowlist.layers] == ["MPSVERIFY_ALLOWLIST"]


def test_environment_extra_list(files: dict[str, Path]) -> None:
    first = write(files["dir"] / "a.yaml", "version: 1\nentities:\n  - {name: A, kind: partner}\n")
    second = write(files["dir"] / "b.yaml", "version: 1\nentities:\n  - {name: B, kind: partner}\n")
    allowlist = load(files, environ={"MPSVERIFY_ALLOWLIST_EXTRA": f"{first}{os.pathsep}{second}"})
    assert names(allowlist) == ["Org", "Platform", "A", "B"]


def test_option_replace_wins_over_everything(files: dict[str, Path]) -> None:
    write(files["user"], "version: 1\nentities:\n  - {name: User, kind: partner}\n")
    env_file = write(files["dir"] / "env.yaml", "version: 1\nentities:\n  - {name: Env, kind: partner}\n")
    env_extra = write(files["dir"] / "envx.yaml", "version: 1\nentities:\n  - {name: EnvX, kind: partner}\n")
    option = write(files["dir"] / "opt.yaml", "version: 1\nentities:\n  - {name: Opt, kind: partner}\n")
    option_extra = write(files["dir"] / "optx.yaml", "version: 1\nentities:\n  - {name: OptX, kind: partner}\n")
    environ = {"MPSVERIFY_ALLOWLIST": str(env_file), "MPSVERIFY_ALLOWLIST_EXTRA": str(env_extra)}
    allowlist = load(files, replace=option, extra=(option_extra,), environ=environ)
    assert names(allowlist) == ["Opt", "OptX"]
    assert [layer.role for layer in allowlist.layers] == ["--allowlist", "--allowlist-extra"]


def test_option_extra_over_config(files: dict[str, Path]) -> None:
    write(files["user"], "version: 1\nentities:\n  - {name: User, kind: partner}\n")
    option_extra = write(files["dir"] / "optx.yaml", "version: 1\nentities:\n  - {name: OptX, kind: partner}\n")
    assert names(load(files, extra=(option_extra,))) == ["Org", "Platform", "User", "OptX"]


def test_extra_file_saying_replace_rejected(files: dict[str, Path]) -> None:
    extra = write(files["dir"] / "x.yaml", "version: 1\nmode: replace\n")
    with pytest.raises(AllowlistValidationError) as raised:
        load(files, extra=(extra,))
    assert raised.value.problems[0].field == "mode"
    assert "--allowlist" in raised.value.problems[0].message


def test_replace_file_saying_extend_rejected(files: dict[str, Path]) -> None:
    option = write(files["dir"] / "x.yaml", "version: 1\nmode: extend\n")
    with pytest.raises(AllowlistValidationError) as raised:
        load(files, replace=option)
    assert raised.value.problems[0].field == "mode"


def test_missing_option_file_unreadable(files: dict[str, Path]) -> None:
    with pytest.raises(AllowlistReadError):
        load(files, replace=files["dir"] / "missing.yaml")
    with pytest.raises(AllowlistReadError):
        load(files, environ={"MPSVERIFY_ALLOWLIST_EXTRA": str(files["dir"] / "missing.yaml")})


def test_invalid_config_file_reported(files: dict[str, Path]) -> None:
    write(files["system"], "version: 1\nentities:\n  - {name: A, kind: vendor}\n")
    with pytest.raises(AllowlistValidationError) as raised:
        load(files)
    assert raised.value.problems[0].file == str(files["system"])
    assert raised.value.problems[0].line == 3


def test_sources_without_config(files: dict[str, Path]) -> None:
    sources = allowlist_sources(None, (), {}, system_config=None, shipped=files["shipped"])
    assert [(source.role, source.required) for source in sources] == [("shipped", True)]


def test_empty_environment_values_ignored(files: dict[str, Path]) -> None:
    allowlist = load(files, environ={"MPSVERIFY_ALLOWLIST": "", "MPSVERIFY_ALLOWLIST_EXTRA": ""})
    assert names(allowlist) == ["Org", "Platform"]


def test_default_shipped_data_loads(tmp_path: Path) -> None:
    allowlist = load_effective_allowlist(None, (), {"HOME": str(tmp_path)}, system_config=None)
    assert allowlist.entity_for_domain("medicalprotection.org") is not None
    assert allowlist.layers[0].role == "shipped"
