"""Print the lowest versions pyproject.toml allows, as pip pins, torch left out.

torch is the exception: only the CPU build the README pins can be installed
here, since PyPI's older Linux builds of torch bring gigabytes of CUDA
libraries with them.
"""

import re
from pathlib import Path

import tomllib

project = tomllib.loads(Path("pyproject.toml").read_text())["project"]
for requirement in project["dependencies"]:
    name, floor = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", requirement).groups()
    if name != "torch":
        print(f"{name}=={floor}")
