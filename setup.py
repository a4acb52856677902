"""Packaging of saltext-masterplugin."""
import pathlib
import re

from setuptools import find_packages
from setuptools import setup

HERE = pathlib.Path(__file__).resolve().parent
VERSION = re.search(
    r'^__version__ = "([^"]+)"', (HERE / "saltext_masterplugin" / "__init__.py").read_text(), re.M
).group(1)

setup(
    name="saltext-masterplugin",
    version=VERSION,
    description=(
        "Salt extension that keeps the SaltStack Config master plugin (SSEAPE) on every "
        "salt-master at the version RaaS ships"
    ),
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    packages=find_packages(include=["saltext_masterplugin", "saltext_masterplugin.*"]),
    python_requires=">=3.9",
    # Salt 3006 (LTS) through 3008; requests and packaging are what Salt itself brings.
    install_requires=[
        "salt>=3006",
        "packaging>=21.3",
        "requests>=2.25",
    ],
    extras_require={
        "tests": [
            "pytest>=7.4",
            "pytest-salt-factories>=1.0.0",
            "supervisor>=4.2",
        ],
    },
    entry_points={
        "salt.loader": [
            "saltext_masterplugin = saltext_masterplugin",
        ],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Framework :: Salt",
        "Topic :: System :: Systems Administration",
    ],
)
