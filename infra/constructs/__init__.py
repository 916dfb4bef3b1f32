"""The building blocks of the DumontCloud stack, one concern per module.

Imported as `infra.constructs`; never put `infra/` itself on `sys.path`, or this package would
shadow the `constructs` library that aws_cdk imports (`infra/app.py` takes care of that).
"""
