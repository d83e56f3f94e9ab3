"""botocore sessions and clients for an Environment.

One session per environment and one client per service, shared by the whole run. The
clients are botocore's own, which are boto3's clients too: boto3 adds resources and S3's
transfer methods, which no check uses, and importing it costs ~40 ms per run (s3transfer,
its resource factory) on top of botocore's.
Clients use botocore's standard retry mode with the connect/read timeouts of their
profile (``timeouts``: ``check`` for smoke checks, ``admin``, ``provisioning``). botocore
is imported here only, and only when a suite needs it: the plugin costs nothing in runs
that do not check AWS. The account guard is in ``guard``.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from pytest_ohpen.aws.timeouts import ClientTimeouts, Profile, profile_timeouts
from pytest_ohpen.config import schema
from pytest_ohpen.errors import ConfigError, PreflightError

if TYPE_CHECKING:
    import botocore.session

    from pytest_ohpen.aws.model_cache import CachedFileLoader
    from pytest_ohpen.config.environments import Environment

EMBEDDED_CREDENTIALS = {
    "aws_access_key_id": "ohpen-embedded",
    "aws_secret_access_key": "ohpen-embedded",
}
"""The embedded account accepts any keys; fixed ones keep real credentials out of it."""


_LOADER: Any = None
_LOADER_LOCK = threading.Lock()


def _botocore_session(profile: str | None) -> botocore.session.Session:
    """A botocore session of ``profile`` reading the one data loader of this process: each
    session would otherwise parse every service's model again (the provisioning clients,
    the checks' and the readiness report's are of different sessions), about 20 ms per
    service each time. The loader holds botocore's own data files, the same for every
    account; its search path is the first session's ``data_path`` (AWS_DATA_PATH), and it
    reads each file through the machine's cache of parsed files (``model_cache``).
    Raises ProfileNotFound for a profile the config lacks."""
    global _LOADER
    import botocore.loaders
    import botocore.session

    from pytest_ohpen.aws import model_cache

    session = botocore.session.Session(profile=profile)
    data_path = session.get_config_variable("data_path")  # reads the profile: fails early
    with _LOADER_LOCK:
        if _LOADER is None:
            _LOADER = botocore.loaders.create_loader(data_path)
            _LOADER.file_loader = cache = model_cache.file_loader()
            _list_once(_LOADER, cache)
        session.register_component("data_loader", _LOADER)
    return session


def _list_once(loader: Any, cache: CachedFileLoader) -> None:
    """The loader's listing of botocore's services (hundreds of folders, ~10 ms per type) is
    cached but not locked: the checks' threads paginating at once each listed them again,
    together (seven listings in a row contending for the interpreter). Locked here, and read
    from the machine's cache (``cache``, the loader's file loader) when it holds it."""
    listing = loader.list_available_services
    lock = threading.Lock()

    def list_available_services(type_name: str) -> Any:
        with lock:
            return cache.services(type_name, loader.search_paths, listing)

    loader.list_available_services = list_available_services


class AwsClients:
    """The run's botocore session and clients for one Environment, made on first use.

    ``endpoint_url`` overrides the environment's (the embedded account's address);
    ``profile`` says whose calls these are, and so how long each may take.
    Thread-safe: botocore sessions are not, so client creation is serialised.
    """

    def __init__(
        self, env: Environment, endpoint_url: str | None = None, profile: Profile = "check"
    ) -> None:
        self.env = env
        self.endpoint_url = endpoint_url or env.endpoint_url
        problem = schema.endpoint(self.endpoint_url) if self.endpoint_url else None
        if problem:  # the loader refuses it first; this covers an Environment built in code
            raise ConfigError(f"{env.source}: [{env.name}] endpoint_url: {problem}")
        self.profile: Profile = profile
        self.timeouts = profile_timeouts(profile, env.timeout)
        self._session: botocore.session.Session | None = None
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def session(self) -> botocore.session.Session:
        """The environment's botocore session (its profile, or the embedded account's keys)."""
        if self._session is None:
            import botocore.exceptions

            profile = None if self.env.emulated else self.env.profile or None
            try:
                session = _botocore_session(profile)
            except botocore.exceptions.ProfileNotFound:
                raise PreflightError(
                    f"{self.env.source}: [{self.env.name}] profile: AWS profile "
                    f"{self.env.profile!r} is not in your AWS config; run "
                    f"'aws configure --profile {self.env.profile}' or fix the profile key"
                ) from None
            session.set_config_variable("region", self.env.region)
            if self.env.emulated:
                session.set_credentials(
                    EMBEDDED_CREDENTIALS["aws_access_key_id"],
                    EMBEDDED_CREDENTIALS["aws_secret_access_key"],
                )
            self._session = session
        return self._session

    def client(self, service: str) -> Any:
        """The shared client for ``service`` (created once per run)."""
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._make(service, self.timeouts)
            return self._clients[service]

    def bounded(self, seconds: float) -> AwsClients:
        """Clients on this session whose every call, retries included, ends within about
        ``seconds`` (the run's deadline): this profile's timeouts, shortened to fit."""
        attempts = self.timeouts.max_attempts
        per_attempt = max(0.2, seconds / attempts)
        connect = min(self.timeouts.connect, max(0.1, per_attempt / 3))
        timeouts = ClientTimeouts(
            connect=connect,
            read=min(self.timeouts.read, max(0.1, per_attempt - connect)),
            max_attempts=attempts,
        )
        if timeouts == self.timeouts:  # the deadline is no shorter: these very clients
            return self
        bounded = AwsClients(self.env, self.endpoint_url, self.profile)
        bounded.timeouts = timeouts
        bounded._session = self._session
        return bounded

    def invoker(self) -> Any:
        """A Lambda client for invocations: one attempt only (an invocation is not idempotent),
        and a read timeout that lets the function run for most of the check's budget."""
        with self._lock:
            if "lambda:invoke" not in self._clients:
                timeouts = ClientTimeouts(
                    connect=self.timeouts.connect, read=self.env.timeout * 0.8, max_attempts=1
                )
                self._clients["lambda:invoke"] = self._make("lambda", timeouts)
            return self._clients["lambda:invoke"]

    def _make(self, service: str, timeouts: ClientTimeouts) -> Any:
        from botocore.config import Config

        config = Config(
            # total_max_attempts counts the first try; botocore's max_attempts would not.
            retries={"mode": "standard", "total_max_attempts": timeouts.max_attempts},
            connect_timeout=timeouts.connect,
            read_timeout=timeouts.read,
            user_agent_extra="pytest-ohpen",
            # One connection per call in flight (checks and probes run concurrently).
            max_pool_connections=max(10, self.env.concurrency),
        )
        make_client: Any = self.session.create_client  # one factory for every service name
        return make_client(service, endpoint_url=self.endpoint_url, config=config)
