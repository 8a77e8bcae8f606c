"""The project's own error types, each with a structured next step.

Every failure a user can meet is one of these, so the CLI and the tray can show one clear line
and never a traceback. An error says *what* went wrong (``message``, plain words that fit both a
terminal and a window) and *what to do next* as data (:class:`~trayauth.domain.steps.NextStep`):
the CLI words a step as a command (``run 'trayauth login work'``, in ``trayauth.cli.wording``), the
tray as a sentence or a button (``trayauth.ui.state.wording``). Nothing below those two layers
writes either wording, so the tray never tells a GUI user to run a command, and no code branches
on the text of a message.

This module imports nothing at run time: errors are raised on the CLI's fast path. A class's
default step is the *name* of a step kind, built into a ``NextStep`` when first asked for.

An error about one account carries its name as data (``account``): the raise site passes the
message *without* the name and ``account=NAME``, and the message reads "NAME: what went wrong";
a message that names the account in its own words ("NAME is not logged in") says so with
``named=True``. A service that knows the account but raised (or caught) an error without one
attaches it with :meth:`TrayauthError.about`. So every consumer (the CLI's last line, the tray's
socket, the warning beside a handed-out token) asks ``exc.account`` instead of looking for the
name in the text, which an account called "token" or "a: b" would fool.

Messages must never carry a secret: callers redact before raising.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: errors are raised on the fast path, which never imports typing
if TYPE_CHECKING:
    from typing import ClassVar

    from trayauth.domain.steps import NextStep


class TrayauthError(Exception):
    """Base class: a failure with a user-facing one-line message and, where known, a next step."""

    exit_code = 1
    default_step: ClassVar[str | None] = None  # a StepKind value (see the module's docstring)

    def __init__(
        self,
        message: str,
        *,
        next_step: NextStep | None = None,
        account: str | None = None,
        named: bool = False,
    ) -> None:
        super().__init__(message)
        self.detail = message  # what went wrong, without the account's name
        self.account = account  # the account this is about, when it is about one
        self._named = named  # the detail names the account in its own words
        self._next_step = next_step
        # The provider accepted the request (a success answer arrived) but what it answered could
        # not be used: whatever the request spent (a rotating refresh token) is spent. Set by
        # the code that read the answer (trayauth.net.http.reading), for the renewal to judge.
        self.accepted = False

    @property
    def message(self) -> str:
        """The one line: "NAME: detail" for an error about an account, else the detail."""
        if self.account is None or self._named:
            return self.detail
        return f"{self.account}: {self.detail}"

    def __str__(self) -> str:
        return self.message

    @property
    def named(self) -> bool:
        """The detail names the account in its own words ("NAME is not logged in")."""
        return self._named

    def about(self, account: str) -> TrayauthError:
        """Say which account this is about, when the raise site could not (a storage or network
        failure deep below the account): the caller that knows it attaches it. An error that
        already carries an account keeps its own."""
        if self.account is None:
            self.account = account
            self._named = False
        return self

    @property
    def next_step(self) -> NextStep | None:
        """What to do next: the one given when raised, else the class's default, else None."""
        if self._next_step is None and self.default_step is not None:
            from trayauth.domain.steps import NextStep, StepKind

            self._next_step = NextStep(StepKind(self.default_step))
        return self._next_step


class UsageError(TrayauthError):
    """The user asked for something malformed (bad setting, unknown preset)."""

    exit_code = 2


class BadArgument(UsageError):
    """A command-line value an integration cannot use, met below the CLI (exec, env, git's
    credential protocol). The structured hint says what would work: ``usage`` names the command
    whose usage applies, ``choices`` the values accepted; the CLI words them (the integrations
    write no CLI text). The step is built when first asked for, as a class default is."""

    def __init__(
        self,
        message: str,
        *,
        usage: str | None = None,
        choices: tuple[str, ...] = (),
        account: str | None = None,
    ) -> None:
        super().__init__(message, account=account)
        self.usage = usage
        self.choices = choices

    @property
    def next_step(self) -> NextStep | None:
        if self._next_step is None and (self.usage or self.choices):
            from trayauth.domain.steps import NextStep, StepKind

            if self.usage:
                self._next_step = NextStep(StepKind.SHOW_USAGE, keys=(self.usage,))
            else:
                self._next_step = NextStep(StepKind.CHOOSE_ONE, keys=self.choices)
        return self._next_step


class ConfigError(TrayauthError):
    """The config file cannot be read; it is left untouched."""

    default_step = "fix_file"


class PresetError(TrayauthError):
    """A preset data file is malformed."""


class AccountNotFound(TrayauthError):
    default_step = "pick_account"


class AccountExists(TrayauthError):
    default_step = "pick_name"


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
    """A sign-in ran out of time (the browser, a device code, a code that died before its exchange)."""

    default_step = "log_in_sooner"


class NetworkError(TrayauthError):
    """The provider could not be reached or stopped answering.

    ``sent`` says whether the request may have reached the server: a rotating refresh token
    that may have been received is treated as spent.
    """

    exit_code = 4
    default_step = "check_network"

    def __init__(
        self,
        message: str,
        *,
        next_step: NextStep | None = None,
        account: str | None = None,
        sent: bool = True,
    ) -> None:
        super().__init__(message, next_step=next_step, account=account)
        self.sent = sent


class RateLimited(NetworkError):
    default_step = "wait"


class ProviderError(TrayauthError):
    """The provider answered, but not with a usable token."""

    exit_code = 4


class InsecureURL(UsageError):
    default_step = "use_https"


class StorageError(TrayauthError):
    """A file of ours could not be written (full disk, read-only folder, a planted symlink).

    The message names the cause in words; the old content stays as it was.
    """


class UnsafeLocation(StorageError, PermissionError):
    """A folder or file another user could change (or read, for a key): refused, never used.

    Also a PermissionError, so code that treats "cannot use this place" as an OS error (the CLI's
    tray probe goes direct on OSError) keeps doing so.
    """
