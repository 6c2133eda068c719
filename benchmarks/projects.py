"""Real projects from the package index, for the stress run, the fix audit and the ecosystem
check: pinned versions, downloaded into a work directory (never committed), unpacked to
their Python packages only.

Each project has a small dao-lint configuration in `benchmarks/ecosystem/<name>.toml` (what
its maintainers would write: where its DAOs and units of work are); `prepare` copies it in as
the tree's `pyproject.toml`.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Dict, List, Tuple

__all__ = ["PROJECTS", "fetch", "prepare", "CONFIGS"]

CONFIGS = Path(__file__).resolve().parent / "ecosystem"

# name: (requirement, the package directories to check, what kind of code it is)
PROJECTS: Dict[str, Tuple[str, List[str], str]] = {
    "superset": ("apache-superset==3.0.0", ["superset"], "Flask-AppBuilder app, DAOs that commit (Superset-size)"),
    "flask-appbuilder": ("Flask-AppBuilder==4.3.6", ["flask_appbuilder"], "Flask-SQLAlchemy data interfaces"),
    "flaskbb": ("FlaskBB==2.0.2", ["flaskbb"], "Flask-SQLAlchemy forum, active-record models with save()"),
    "flask-security": ("Flask-Security-Too==5.3.2", ["flask_security"], "Flask extension, datastore with a commit helper"),
    "fastapi-users-db": ("fastapi-users-db-sqlalchemy==6.0.1", ["fastapi_users_db_sqlalchemy"], "async SQLAlchemy user store"),
    "mlflow": ("mlflow==2.8.1", ["mlflow"], "SQLAlchemy tracking store that opens its own sessions"),
    "optuna": ("optuna==3.4.0", ["optuna"], "plain SQLAlchemy storage with a session-scope context manager"),
    "airflow": ("apache-airflow==2.7.3", ["airflow"], "scheduler and models, provide_session"),
    "sqlmodel": ("sqlmodel==0.0.14", ["sqlmodel"], "SQLModel itself (a library, few findings expected)"),
    "sqlalchemy-utils": ("SQLAlchemy-Utils==0.41.1", ["sqlalchemy_utils"], "a library of types and helpers"),
    "ckan": ("ckan==2.10.4", ["ckan"], "a large Flask app with a model layer and a repository"),
    "fastapi-crudrouter": ("fastapi-crudrouter==0.8.6", ["fastapi_crudrouter"], "FastAPI CRUD routers over SQLAlchemy"),
    "open-webui": ("open-webui==0.12.4", ["open_webui"], "async FastAPI app whose DAO classes open sessions through a project context manager"),
    "zou": ("zou==1.0.97", ["zou"], "Flask-SQLAlchemy app built on Model.query, active-record models, a service layer"),
    # the original stress set (not SQLAlchemy applications: crash and speed checks only)
    "sqlalchemy": ("SQLAlchemy==2.0.23", ["sqlalchemy"], "SQLAlchemy itself"),
    "django": ("Django==4.2.7", ["django"], "not SQLAlchemy at all"),
}


def fetch(work: Path, name: str) -> Path:
    """The unpacked sources of a project (downloaded once into `work`)."""
    requirement, packages, _ = PROJECTS[name]
    target = work / "src" / name
    if target.is_dir():
        return target
    download = work / "downloads" / name
    download.mkdir(parents=True, exist_ok=True)
    if not any(download.iterdir()):
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(download), requirement], check=True)
    archive = next(download.iterdir())
    unpacked = work / "unpacked" / name
    shutil.rmtree(unpacked, ignore_errors=True)
    unpacked.mkdir(parents=True)
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as handle:
            handle.extractall(unpacked)
    else:
        with tarfile.open(archive) as handle:
            handle.extractall(unpacked)
    target.mkdir(parents=True)
    for package in packages:
        found = min(
            (p for p in unpacked.rglob(package) if p.is_dir() and (p / "__init__.py").exists()),
            key=lambda p: len(p.parts),
        )
        shutil.copytree(found, target / package, ignore=shutil.ignore_patterns("*.pyc", "__pycache__", "node_modules", "static"))
    return target


def prepare(work: Path, name: str, copy_to: Path) -> Path:
    """A fresh copy of the project with its dao-lint configuration as pyproject.toml."""
    source = fetch(work, name)
    shutil.rmtree(copy_to, ignore_errors=True)
    shutil.copytree(source, copy_to)
    config = CONFIGS / f"{name}.toml"
    if config.exists():
        shutil.copy(config, copy_to / "pyproject.toml")
    return copy_to
