"""The vendored front-end packages are the ones web/package-lock.json pins, each with its licence."""

from __future__ import annotations

import json
from pathlib import Path

from bastion.web.pages.static import STATIC

ROOT = Path(__file__).resolve().parents[3]


def test_package_json_pins_exact_versions_and_the_lock_file_agrees() -> None:
    package = json.loads((ROOT / "web" / "package.json").read_text())
    lock = json.loads((ROOT / "web" / "package-lock.json").read_text())["packages"]
    for name, version in package["dependencies"].items():
        assert version[0].isdigit(), f"{name} is not pinned to one version: {version}"
        assert lock[f"node_modules/{name}"]["version"] == version


def test_the_vendored_files_are_listed_with_the_locked_versions_and_licences() -> None:
    lock = json.loads((ROOT / "web" / "package-lock.json").read_text())["packages"]
    listed = {
        line.split()[0]: line.split()[1:]
        for line in (STATIC / "vendor" / "VERSIONS.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    for key, meta in lock.items():
        if key:
            name = key.removeprefix("node_modules/")
            assert listed[name] == [meta["version"], meta["license"], meta["integrity"]]
    for folder in ("htmx", "lightweight-charts", "simplewebauthn"):
        files = {p.name for p in (STATIC / "vendor" / folder).iterdir()}
        assert any(f.startswith("LICENSE") for f in files), folder
        assert any(f.endswith(".js") for f in files), folder
