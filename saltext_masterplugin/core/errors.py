"""
Exceptions raised by the core.

All run-time failures subclass Salt's ``CommandExecutionError`` so that the loader modules can
let them through unchanged and Salt reports them as it reports its own.  Messages never carry a
password, a JWT or a cookie.
"""
from salt.exceptions import CommandExecutionError


class MasterPluginError(CommandExecutionError):
    """Base class of every error the core raises at run time."""


class NotAMasterError(MasterPluginError):
    """This host has no salt-master configuration to work on."""


class RaasError(MasterPluginError):
    """Talking to RaaS failed."""


class RaasConnectionError(RaasError):
    """RaaS could not be reached, or answered with a server error after the retries."""


class RaasAuthError(RaasError):
    """RaaS refused our credentials (final: retrying will not help)."""


class RaasProtocolError(RaasError):
    """RaaS answered something that does not follow its protocol."""


class RaasRpcError(RaasError):
    """An RPC call returned an error object ``{code, message, detail}``."""

    def __init__(self, resource, method, code, message, detail=None):
        self.resource = resource
        self.method = method
        self.code = code
        self.rpc_message = message
        self.detail = detail
        text = f"RaaS RPC {resource}.{method} failed: [{code}] {message}"
        if detail:
            text += f" ({detail})"
        super().__init__(text)


class PluginCacheError(MasterPluginError):
    """The plugin cache could not be read or written."""


class DownloadError(PluginCacheError):
    """A wheel could not be fetched and verified; the cache was left as it was."""


class InvalidWheelError(MasterPluginError):
    """A server-supplied filename or offer is not an acceptable plugin wheel."""


class LockBusyError(MasterPluginError):
    """Another process holds the lock we need."""
