"""The project's own error types.

Every failure a user can meet is one of these, so the CLI and the tray can show one clear line
(``message``) plus what to do next (``hint``) and never a traceback. Messages must never carry a
secret: callers redact before raising.
"""

from __future__ import annotations


class TrayauthError(Exception):
    """Base class: a failure with a user-facing one-line message."""

    exit_code = 1
    default_hint = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = self.default_hint if hint is None else hint

    def line(self) -> str:
        """The one line shown to a user: message, then what to do next."""
        if self.hint:
            return f"{self.message}; {self.hint}"
        return self.message


class UsageError(TrayauthError):
    """The user asked for something malformed (bad setting, unknown preset)."""

    exit_code = 2


class ConfigError(TrayauthError):
    """The config file cannot be read; it is left untouched."""

    default_hint = "fix or move the file by hand, it was not changed"


class PresetError(TrayauthError):
    """A preset data file is malformed."""


class AccountNotFound(TrayauthError):
    default_hint = "see 'trayauth list', or add it with 'trayauth add NAME PRESET'"


class AccountExists(TrayauthError):
    default_hint = "pick another name, or 'trayauth remove' the old one first"


class VaultError(TrayauthError):
    """The encrypted vault cannot be opened (wrong key, corrupt file)."""


class KeyringUnavailable(TrayauthError):
    """No OS keyring could store or load the vault key."""


class LoginRequired(TrayauthError):
    """There is no usable token and none can be obtained without the user."""

    exit_code = 3


class CredentialsRejected(LoginRequired):
    """The provider said the credentials are wrong (401, invalid_grant, invalid_client)."""


class LoginCancelled(TrayauthError):
    exit_code = 130


class LoginTimeout(TrayauthError):
    default_hint = "run the login again and finish it in the browser sooner"


class NetworkError(TrayauthError):
    """The provider could not be reached or stopped answering.

    ``sent`` says whether the request may have reached the server: a rotating refresh token
    that may have been received is treated as spent.
    """

    exit_code = 4
    default_hint = "check the network and the account's base_url, then retry"

    def __init__(self, message: str, *, hint: str | None = None, sent: bool = True) -> None:
        super().__init__(message, hint=hint)
        self.sent = sent


class RateLimited(NetworkError):
    default_hint = "the provider is rate limiting; wait a minute and retry"


class ProviderError(TrayauthError):
    """The provider answered, but not with a usable token."""

    exit_code = 4


class InsecureURL(UsageError):
    default_hint = "use https://, plain http is allowed only to loopback addresses"


class StorageError(TrayauthError):
    """A file of ours could not be written (full disk, read-only folder, a planted symlink).

    The message names the cause in words; the old content stays as it was.
    """


class UnsafeLocation(StorageError, PermissionError):
    """A folder or file another user could change (or read, for a key): refused, never used.

    Also a PermissionError, so code that treats "cannot use this place" as an OS error (the CLI's
    tray probe goes direct on OSError) keeps doing so.
    """
