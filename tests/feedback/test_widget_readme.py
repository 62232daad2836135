"""The README's list of the widget's strings is the widget's own list."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def test_the_readme_names_every_string_of_the_widget() -> None:
    widget = (ROOT / "static" / "widget" / "widget.js").read_text(encoding="utf-8")
    english = re.search(r"\n    en: \{\n(.*?)\n    \},", widget, re.S).group(1)
    strings = dict(re.findall(r'^\s+(\w+): "(.*)",$', english, re.M))
    readme = (ROOT / "README.md").read_text(encoding="utf-8").split("## Put the widget on your site", 1)[1]
    documented = dict(re.findall(r"^\| `data-lang-([a-z-]+)` \| (.*) \|$", readme, re.M))
    kebab = {re.sub(r"[A-Z]", lambda m: "-" + m.group(0).lower(), k): v for k, v in strings.items()}
    assert documented == kebab
