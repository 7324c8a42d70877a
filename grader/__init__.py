"""grader: an auto-grader for the calculus behind deep learning.

The public surface is small on purpose: import the library pieces from their
modules (``grader.grading``, ``grader.spec``, ...). This file stays free of
heavy imports because the sandboxed child process imports the package too.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
