"""The building blocks of the DumontCloud stack, one concern per module."""
