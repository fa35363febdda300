from setuptools import setup

setup(
    name="lambda_portal",
    version="0.1.0",
    description="An example Pyramid portal that embeds lambda_registry",
    packages=["lambda_portal"],
    install_requires=["lambda_registry", "pyramid", "pyramid_tm", "SQLAlchemy", "zope.sqlalchemy"],
    entry_points={"paste.app_factory": ["main = lambda_portal:main"]},
)
