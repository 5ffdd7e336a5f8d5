"""Configuration: defaults, a TOML file, FITSFLOW_<SECTION>_<KEY> overrides, clear errors."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from fitsflow.config import Settings, load_settings, section_keys
from fitsflow.domain.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_defaults():
    settings = load_settings(environ={})
    assert settings.database.url == "sqlite:///fitsflow.db"
    assert settings.planning.horizon_years == 5


def test_file_then_environment(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[database]\nurl = "sqlite:///x.db"\n[planning]\nhorizon_years = 4\n')
    settings = load_settings(environ={"FITSFLOW_CONFIG": str(path), "FITSFLOW_PLANNING_HORIZON_YEARS": "3",
                                    "FITSFLOW_DATABASE_ECHO": "true"})
    assert settings.database.url == "sqlite:///x.db"
    assert settings.planning.horizon_years == 3
    assert settings.database.echo is True


@pytest.mark.parametrize("text,message", [
    ("[databse]\nurl = 'x'\n", "[databse]: unknown section"),
    ("[database]\nurll = 'x'\n", "database.urll: unknown setting"),
    ("[planning]\nhorizon_years = 'five'\n", "planning.horizon_years: must be a whole number"),
    ("[planning]\nhorizon_years = 40\n", "planning.horizon_years: must be from 1 to 10"),
    ("[school]\ntimezone = 'Mars/Olympus'\n", "school.timezone: unknown time zone"),
    ("[database\n", "not valid TOML"),
    ("[database]\nbusy_timeout_ms = 0\n", "database.busy_timeout_ms: must be 1 or more"),
    ("[smtp]\nenabled = true\ntimeout_seconds = 90\n", "delivery.lease_seconds: must be at least twice"),
    ("[delivery]\nworkers = 0\n", "delivery.workers: must be from 1 to 16"),
    ("[delivery]\npoll_seconds = 600\n", "delivery.poll_seconds: must be shorter"),
    ("[health]\nwrite_deadline_ms = 5\n", "health.write_deadline_ms: must be from 100"),
    ("[audit]\nfull_check_hours = 0\n", "audit.full_check_hours: must be from 1"),
])
def test_bad_files_name_the_key(tmp_path, text, message):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_settings(path, environ={})


def test_bad_environment_names_the_variable():
    with pytest.raises(ConfigError, match="FITSFLOW_DATABASE_ECHO: must be true or false"):
        load_settings(environ={"FITSFLOW_DATABASE_ECHO": "perhaps"})
    with pytest.raises(ConfigError, match="FITSFLOW_NOPE: no such setting"):
        load_settings(environ={"FITSFLOW_NOPE": "1"})
    with pytest.raises(ConfigError, match="not found"):
        load_settings(environ={"FITSFLOW_CONFIG": "/nonexistent/fitsflow.toml"})


def test_example_file_documents_every_setting_and_loads():
    example = ROOT / "config.example.toml"
    data = tomllib.loads(example.read_text())
    fixed = {s: set(v) for s, v in data.items() if s not in ("roles", "audiences")}
    assert fixed == section_keys()
    assert set(data["roles"]) == set(Settings().roles) and set(data["audiences"]) == set(Settings().audiences)
    assert load_settings(example, environ={}) == Settings(source=str(example.resolve()))


def test_a_bad_value_names_the_file_the_key_and_what_is_allowed(tmp_path):
    path = tmp_path / "c.toml"
    for text, message in (
            ("[smtp]\nsecurity = 'tls'\n", "smtp.security: must be one of none, starttls, ssl, got 'tls'"),
            ("[web]\npage_size = 1000\n", "web.page_size: must be from 5 to 500, got 1000"),
            ("[database]\nsqlite_synchronous = 'sometimes'\n",
             "database.sqlite_synchronous: must be one of OFF, NORMAL, FULL, EXTRA, got 'SOMETIMES'"),
            ("[notices]\npublish_time = '8am'\n", "notices.publish_time: must be a time of day as HH:MM"),
            ("[school]\nnation = 'mars'\n", "school.nation: must be one of england, wales, scotland"),
            ("[notices]\nacknowledgement_viewers = ['slt', 'janitor']\n",
             "notices.acknowledgement_viewers: unknown role janitor (known: "),
            ("[webhook]\nevents = 'raised, exploded'\n", "webhook.events: unknown event exploded"),
            ("[accounts]\nchange_transfer = 3\n", "accounts.change_transfer: must be a list of names")):
        path.write_text(text)
        with pytest.raises(ConfigError) as err:
            load_settings(path, environ={})
        assert str(err.value).startswith(f"{path.resolve()}: "), str(err.value)
        assert message in str(err.value), (text, str(err.value))


def test_each_sqlite_connection_keeps_the_page_cache_the_settings_give(tmp_path):
    from fitsflow.services.storage import open_database

    def cache_of(environ: dict[str, str]) -> int:
        db = open_database(load_settings(environ=environ), f"sqlite:///{tmp_path}/c{len(environ)}.db")
        try:
            with db.engine.connect() as connection:
                return int(connection.exec_driver_sql("PRAGMA cache_size").scalar_one())
        finally:
            db.dispose()

    assert cache_of({}) == -512  # KiB: SQLite's default would be 2 MB a connection
    assert cache_of({"FITSFLOW_DATABASE_SQLITE_CACHE_KIB": "4096"}) == -4096
    with pytest.raises(ConfigError, match="database.sqlite_cache_kib: must be from 64 to 1048576"):
        load_settings(environ={"FITSFLOW_DATABASE_SQLITE_CACHE_KIB": "8"})


def test_lists_of_names_are_lists_from_a_file_or_the_environment(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[notices]\nacknowledgement_viewers = ['slt', 'auditor']\n"
                    "[accounts]\nchange_transfer = 'head, admin, slt'\n")
    settings = load_settings(path, environ={"FITSFLOW_CALENDAR_SCHEDULE_FEED_ROLES": "cab, head"})
    assert settings.notices.acknowledgement_viewers == ("slt", "auditor")
    assert settings.accounts.change_transfer == ("head", "admin", "slt")
    assert settings.calendar.schedule_feed_roles == ("cab", "head")
    assert Settings().notices.viewer_roles == frozenset({"slt", "head", "auditor"})


def test_the_nations_allowed_are_the_calendars():
    import typing

    from fitsflow.config import Nation
    from fitsflow.domain.calendar import NATIONS

    assert set(typing.get_args(Nation)) == set(NATIONS)


def test_the_readme_settings_table_is_the_models_own():
    from fitsflow import settings_table

    readme = (ROOT / "README.md").read_text()
    start, end = readme.index(settings_table.START), readme.index(settings_table.END)
    assert readme[start:end + len(settings_table.END)] == settings_table.markdown(), \
        "README's settings table drifted: paste the output of python -m fitsflow.settings_table"
    keys = {row[0].strip("`") for row in settings_table.rows()}
    assert "web.page_size" in keys and "school.timezone" in keys and len(keys) > 70
