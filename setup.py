from setuptools import find_namespace_packages, setup

# Lower bounds: releases without known CVEs (waitress 3.0.1: request
# smuggling and a race on closed sockets; WebOb 1.8.8: open redirect;
# pyramid 2.0.2: static files path traversal; Jinja2 3.1.6: sandbox escapes,
# CVE-2024-22195, -34064, -56201, -56326, CVE-2025-27516; setuptools 78.1.1:
# CVE-2024-6345, CVE-2025-47273; requests 2.32.4: CVE-2024-35195, -47081). Upper bounds: the next major
# release of anything whose behaviour the package relies on beyond the
# documented surface (named beside each).
requires = [
    # pyramid 2.1 and cornice 6.1 still import pkg_resources, gone in setuptools 82.
    "setuptools>=78.1.1,<82",
    "pyramid>=2.0.2,<3",
    "WebOb>=1.8.8,<2",
    # services/service.py subclasses Service and relies on its view wrapper.
    "cornice>=6.1,<7",
    "colander>=2.0,<3",
    "SQLAlchemy>=2.0,<2.2",
    "zope.sqlalchemy>=3.0,<5",
    # main() runs its tween; in a host that includes it, our writes join its transaction.
    "pyramid_tm>=2.5,<3",
    "transaction>=3.0,<6",
    "alembic>=1.12,<2",
    "psycopg[binary]>=3.1,<4",
    "waitress>=3.0.1,<4",
    "plaster_pastedeploy",
    # The web pages: our renderer is pyramid_jinja2's factory class, with our own environment.
    "pyramid_jinja2>=2.10,<3",
    "Jinja2>=3.1.6,<4",
    # Swagger UI 5 (the docs page; OpenAPI 3.1), served from the package. Pinned:
    # the page and its browser test are made for this very Swagger UI.
    "swagger-ui-py==25.7.1",
    # /__metrics__ (lambda_registry/metrics.py): its registries, multiprocess mode and text format.
    "prometheus_client>=0.20,<1",
]

tests_require = [
    "pytest>=8",
    "WebTest>=3.0",
    "requests>=2.32.4",
    # Pinned: the fuzz is derandomized, and what it reaches is asserted.
    "schemathesis==4.32.5",
    "hypothesis==6.170.17",
    "openapi-spec-validator>=0.7",
    # A client generated from our document in the tests, as consumers would make one.
    "openapi-python-client==0.29.1",
    # Drives Debian's chromium for the page tests (tests/browser.py); its own browsers are never downloaded.
    "playwright==1.65.2",
]
# What bench/ needs beyond the package; the tests run each bench script once (tests/test_bench.py).
bench_require = ["matplotlib>=3.8", "gunicorn>=22"]

setup(
    name="lambda_registry",
    version="0.1.0",
    description="The central registry of ~okeanos Lambda instances (Lambda on Demand)",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    classifiers=[
        "Programming Language :: Python :: 3",
        "Framework :: Pyramid",
        "Topic :: Internet :: WWW/HTTP :: WSGI :: Application",
    ],
    # Namespace packages too: lambda_registry/alembic and its versions hold
    # modules but no __init__.py (Alembic reads them as files).
    packages=find_namespace_packages(include=["lambda_registry", "lambda_registry.*"]),
    package_data={"lambda_registry": ["alembic/*.mako", "pages/templates/*.lrjinja2", "pages/static/*"]},
    include_package_data=True,
    zip_safe=False,
    python_requires=">=3.10",
    install_requires=requires,
    extras_require={"test": tests_require + bench_require, "bench": bench_require},
    entry_points={
        "paste.app_factory": ["main = lambda_registry:main"],
        "console_scripts": [
            "initialize_lambda_registry_db = lambda_registry.scripts.initialize_db:main",
            "lambda_registry = lambda_registry.scripts.support:main",
        ],
    },
)
