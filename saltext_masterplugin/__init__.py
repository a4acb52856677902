"""
saltext-masterplugin: keep the SaltStack Config master plugin (``SSEAPE``) on every
salt-master at the version RaaS ships.

Salt finds the loader modules through the ``salt.loader`` entry point, which names this
package; Salt then looks for ``modules/``, ``states/`` and ``runners/`` inside it.
"""
import pathlib

PACKAGE_ROOT = pathlib.Path(__file__).resolve().parent

__version__ = "0.1.0"
