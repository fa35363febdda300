"""Settings: defaults, checks at start-up, the environment override."""

import configparser

import pytest
from pyramid.exceptions import ConfigurationError

from lambda_registry.settings import DEFAULT_IDENTITY_URL, parse_settings

from .support import ROOT, build_app



def test_defaults_of_the_spec():
    settings = parse_settings({"sqlalchemy.url": "sqlite://"}, environ={})
    assert settings.auth is None
    assert settings.static_tokens == ""
    assert settings.okeanos_identity_url == DEFAULT_IDENTITY_URL
    assert settings.okeanos_timeout == 5
    assert settings.okeanos_cache_ttl == 300
    assert settings.okeanos_cache_size == 10000
    assert settings.max_page_size == 1000
    assert settings.max_body_bytes == 65536
    assert settings.dbsession is None


def test_environment_variable_overrides_the_database():
    settings = parse_settings(
        {"sqlalchemy.url": "sqlite://", "lambda_registry.sqlalchemy.url": "sqlite:///ours"},
        environ={"LAMBDA_REGISTRY_DATABASE_URL": "postgresql://db/registry"},
    )
    assert settings.database_url == "postgresql://db/registry"


def test_environment_variable_overrides_the_identity_url():
    settings = parse_settings(
        {"sqlalchemy.url": "sqlite://"}, environ={"LAMBDA_REGISTRY_IDENTITY_URL": "http://127.0.0.1:8100/identity/v2.0/"}
    )
    assert settings.okeanos_identity_url == "http://127.0.0.1:8100/identity/v2.0"


def test_our_own_database_url_wins_over_the_hosts():
    settings = parse_settings(
        {"sqlalchemy.url": "sqlite:///host", "lambda_registry.sqlalchemy.url": "sqlite:///ours"}, environ={}
    )
    assert settings.database_url == "sqlite:///ours"


def test_missing_database_fails_naming_it():
    with pytest.raises(ConfigurationError, match="sqlalchemy.url"):
        parse_settings({}, environ={})


@pytest.mark.parametrize(
    "name, value",
    [
        ("lambda_registry.max_page_size", "0"),
        ("lambda_registry.max_page_size", "many"),
        ("lambda_registry.max_body_bytes", "-5"),
        ("lambda_registry.okeanos.timeout", "0"),
        ("lambda_registry.okeanos.timeout", "nan"),
        ("lambda_registry.okeanos.timeout", "inf"),
        ("lambda_registry.db_timeout", "-2"),
        ("lambda_registry.count_cache_seconds", "-1"),
        ("lambda_registry.count_cache_seconds", "soon"),
        ("lambda_registry.okeanos.cache_ttl", "-1"),
        ("lambda_registry.okeanos.cache_size", "zero"),
        ("lambda_registry.okeanos.identity_url", "ftp://x"),
    ],
)
def test_bad_value_fails_at_start_up_naming_the_setting(database_url, name, value):
    with pytest.raises(ConfigurationError, match=name.replace(".", r"\.")):
        build_app(database_url, **{name: value})


@pytest.mark.parametrize("ini", ["development.ini", "production.ini"])
def test_each_shipped_ini_keeps_a_database_connection_per_server_thread(ini):
    """Past the pool, every request would open (and close) a connection of its own."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / ini)
    threads = int(parser["server:main"]["threads"])
    assert int(parser["app:main"]["lambda_registry.pool_size"]) >= threads
