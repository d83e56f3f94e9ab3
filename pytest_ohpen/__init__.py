"""pytest-ohpen: is the data lake healthy after a deployment, and can it be rolled back?"""

__version__ = "0.1.0"
