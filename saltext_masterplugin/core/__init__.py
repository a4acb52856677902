"""
The core library: plain Python that takes opts, paths and values as arguments.

Nothing in here touches Salt's loader dunders (``__salt__``, ``__opts__``, ...); the loader
modules in ``modules/``, ``states/`` and ``runners/`` are thin glue around it.
"""
