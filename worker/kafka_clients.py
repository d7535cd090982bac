"""Every Kafka client of the project is built here, and only here.

The worker consumes through Faust (aiokafka underneath) and publishes with aiokafka
producers of its own; ``feed``, ``topics`` and the lag estimate use kafka-python, as the
user's design card asks. Building all of them from one place means a connection or
security setting cannot reach one client and miss another, and callers catch one error
type, :data:`KAFKA_ERRORS`, whichever library raised it.

Security (``security_protocol`` PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL) is mapped to
each library's own option names:

==================  ============================  ===================================
setting             kafka-python                  aiokafka / Faust
==================  ============================  ===================================
ssl_cafile          ``ssl_cafile``                ``ssl_context`` (one SSLContext
ssl_certfile        ``ssl_certfile``              made by aiokafka's
ssl_keyfile         ``ssl_keyfile``               ``create_ssl_context``)
ssl_key_password    ``ssl_password``
ssl_check_hostname  ``ssl_check_hostname``        ``ssl_context.check_hostname``
sasl_mechanism      ``sasl_mechanism``            ``sasl_mechanism``
sasl_username       ``sasl_plain_username``       ``sasl_plain_username``
sasl_password       ``sasl_plain_password``       ``sasl_plain_password``
==================  ============================  ===================================

Faust takes them as ``broker_credentials`` (:class:`faust.SSLCredentials` or
:class:`faust.SASLCredentials`), which its aiokafka driver turns into the options above
for its consumer and producer.

With a protocol other than PLAINTEXT, the kafka-python factories first make one test
connection (:func:`check_security`): kafka-python 3.0.12 loses the broker's answer to a
failed SASL authentication (the broker's reply and its close arrive in one read, and the
read is dropped) and retries a failed TLS handshake until its timeout, so a wrong password
or a wrong CA would otherwise be a 30 s wait ending in "Unable to bootstrap".
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import aiokafka.errors
import kafka.errors

from worker.settings import Secret, Settings

if TYPE_CHECKING:
    import faust

log = logging.getLogger(__name__)

#: Both libraries' base error classes; ``except KAFKA_ERRORS`` catches either.
KAFKA_ERRORS: tuple[type[Exception], ...] = (
    kafka.errors.KafkaError,
    aiokafka.errors.KafkaError,
)


class KafkaSecurityError(kafka.errors.KafkaError):  # type: ignore[misc]  # untyped base
    """The broker refused the connection's TLS or SASL: a settings problem, not an outage.

    A :class:`kafka.errors.KafkaError`, so callers that report Kafka errors report this
    one too. The message says what failed and which settings to check; it never holds a
    secret.
    """


class RedactedStr(str):
    """A secret as the client libraries need it (a real ``str``), that reprs as ``'***'``.

    The libraries keep the password in their config dicts, and those get printed:
    kafka-python's admin client logs its whole configuration at debug level. A dict's
    text shows each value's ``repr``, so this type keeps the secret out of such lines
    while ``encode``, ``join`` and comparisons still see the real value.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'***'"

    def __str__(self) -> str:
        # str(x) of a str subclass would otherwise return a plain copy that prints.
        return "***"


def _secret(value: Secret) -> RedactedStr | None:
    return RedactedStr(value.reveal()) if value else None


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context for aiokafka and Faust, or None when the protocol has no TLS.

    Server verification against ``ssl_cafile`` is always on (CERT_REQUIRED);
    ``ssl_check_hostname`` only decides whether the certificate must also name the host.
    A new context per call: each reads the files afresh, so a client made after a
    certificate rotation gets the new one.
    """
    if not settings.uses_tls:
        return None
    from aiokafka.helpers import create_ssl_context

    context: ssl.SSLContext = create_ssl_context(
        cafile=settings.ssl_cafile or None,
        certfile=settings.ssl_certfile or None,
        keyfile=settings.ssl_keyfile or None,
        # A callable, never None: with None, OpenSSL would prompt on the terminal for the
        # passphrase of an encrypted key (Settings.validate() has already tried it).
        password=settings.ssl_key_password.reveal,
    )
    context.check_hostname = settings.ssl_check_hostname
    return context


def kafka_python_options(settings: Settings, **extra: Any) -> dict[str, Any]:
    """Connection options for a kafka-python client (producer, consumer or admin).

    PLAINTEXT settings give ``bootstrap_servers`` alone; ``extra`` is added last.
    """
    options: dict[str, Any] = {"bootstrap_servers": settings.bootstrap_servers}
    if settings.security_protocol != "PLAINTEXT":
        options["security_protocol"] = settings.security_protocol
    if settings.uses_tls:
        options.update(
            ssl_cafile=settings.ssl_cafile or None,
            ssl_certfile=settings.ssl_certfile or None,
            ssl_keyfile=settings.ssl_keyfile or None,
            ssl_password=_secret(settings.ssl_key_password),
            ssl_check_hostname=settings.ssl_check_hostname,
        )
    if settings.uses_sasl:
        options.update(
            sasl_mechanism=settings.sasl_mechanism,
            sasl_plain_username=settings.sasl_username,
            sasl_plain_password=_secret(settings.sasl_password),
        )
    options.update(extra)
    return options


def _aiokafka_auth(settings: Settings) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if settings.security_protocol != "PLAINTEXT":
        options["security_protocol"] = settings.security_protocol
    if settings.uses_tls:
        options["ssl_context"] = ssl_context(settings)
    if settings.uses_sasl:
        options.update(
            sasl_mechanism=settings.sasl_mechanism,
            sasl_plain_username=settings.sasl_username,
            sasl_plain_password=_secret(settings.sasl_password),
        )
    return options


def aiokafka_options(settings: Settings, **extra: Any) -> dict[str, Any]:
    """Connection options for an aiokafka client (the worker's own producers).

    PLAINTEXT settings give ``bootstrap_servers`` alone; ``extra`` is added last.
    """
    options: dict[str, Any] = {"bootstrap_servers": ",".join(settings.bootstrap_servers)}
    options.update(_aiokafka_auth(settings))
    options.update(extra)
    return options


def faust_credentials(settings: Settings) -> Any:
    """``broker_credentials`` for :class:`faust.App`, or None for PLAINTEXT.

    Faust (0.15.3, ``credentials_to_aiokafka_auth``) reads the protocol from the
    credentials object: :class:`faust.SASLCredentials` is SASL_SSL when it carries an
    SSL context and SASL_PLAINTEXT when not; :class:`faust.SSLCredentials` is SSL.
    """
    import faust

    if settings.uses_sasl:
        return faust.SASLCredentials(
            username=settings.sasl_username,
            password=_secret(settings.sasl_password),
            ssl_context=ssl_context(settings),
            mechanism=settings.sasl_mechanism,
        )
    if settings.uses_tls:
        return faust.SSLCredentials(ssl_context(settings))
    return None


def faust_options(settings: Settings) -> dict[str, Any]:
    """Connection options for :class:`faust.App` (its consumer and its own producer).

    ``broker`` always; ``broker_credentials`` only when the protocol is not PLAINTEXT.
    """
    options: dict[str, Any] = {"broker": settings.broker}
    credentials = faust_credentials(settings)
    if credentials is not None:
        options["broker_credentials"] = credentials
    return options


def _explain(settings: Settings, server: str, exc: BaseException) -> str | None:
    """What a failed test connection says about the security settings; None when the
    failure is not theirs (the broker is down or unreachable: the clients retry that)."""
    protocol = settings.security_protocol
    certificate_hint = " (ssl_certfile)" if settings.uses_tls else ""
    if isinstance(exc, ssl.SSLCertVerificationError):
        names_hint = ", and does it name this host" if settings.ssl_check_hostname else ""
        return (
            f"TLS: the certificate of {server} was not accepted ({exc.verify_message}); "
            f"is ssl_cafile ({settings.ssl_cafile}) the CA that signed it{names_hint}?"
        )
    if isinstance(exc, ssl.SSLError):
        return (
            f"TLS handshake with {server} failed ({exc.reason or exc}); does this listener "
            f"speak {protocol}, and does it accept the client certificate{certificate_hint}?"
        )
    if isinstance(exc, aiokafka.errors.SaslAuthenticationFailed):
        return (
            f"SASL {settings.sasl_mechanism} authentication as {settings.sasl_username!r} at "
            f"{server} failed ({exc}); check sasl_username, sasl_password and sasl_mechanism"
        )
    if isinstance(exc, aiokafka.errors.UnsupportedSaslMechanismError):
        return f"{server} does not offer SASL mechanism {settings.sasl_mechanism} ({exc})"
    closed = isinstance(exc, aiokafka.errors.KafkaConnectionError) and "closed" in str(exc)
    if closed or isinstance(exc, ConnectionResetError):
        # The TCP connection was accepted, then closed or reset before the first answer:
        # the listener speaks another protocol (a TLS hello to a plaintext listener is
        # reset), or, with TLS 1.3, it refused the client certificate after the handshake.
        tls_hint = (
            f", and does it need a client certificate{certificate_hint} or refuse the one given"
            if settings.uses_tls
            else ""
        )
        return (
            f"{server} closed the connection before answering; does this listener speak "
            f"{protocol}{tls_hint}?"
        )
    if isinstance(exc, aiokafka.errors.KafkaError) and not exc.retriable:
        return f"{server} refused the connection: {exc}"
    return None


async def _probe(settings: Settings, timeout_s: float) -> str | None:
    from aiokafka.conn import create_conn

    options = _aiokafka_auth(settings)
    loop = asyncio.get_running_loop()
    # One budget for all servers: a black-holed address must not delay the real client
    # by a timeout per bootstrap server.
    deadline = loop.time() + timeout_s
    for server in settings.bootstrap_servers:
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        host, _, port = server.rpartition(":")
        try:
            conn = await asyncio.wait_for(
                create_conn(
                    host,
                    int(port),
                    client_id=f"{settings.app_id}-security-check",
                    request_timeout_ms=int(remaining * 1000),
                    **options,
                ),
                remaining,
            )
        except (OSError, TimeoutError, aiokafka.errors.KafkaError) as exc:
            problem = _explain(settings, server, exc)
            if problem is not None:
                return problem
            continue  # unreachable: try the next server; the client will retry them all
        conn.close()
        return None
    return None


def check_security(settings: Settings, timeout_s: float = 10.0) -> None:
    """Make one test connection with the security settings; raise on a refusal.

    Raises :class:`KafkaSecurityError` when the broker rejects the TLS handshake (wrong
    CA, host name, client certificate) or the SASL authentication (user, password,
    mechanism). An unreachable broker is not an error here: the clients themselves
    retry and time out as usual. PLAINTEXT settings are not checked. Runs its own event
    loop in a thread, so it may be called from any thread, inside a loop or not.
    """
    if settings.security_protocol == "PLAINTEXT":
        return
    outcome: list[str | None] = []

    def run() -> None:
        try:
            outcome.append(asyncio.run(_probe(settings, timeout_s)))
        except Exception as exc:  # noqa: BLE001 - the check is an aid; the client decides
            log.warning("Kafka security check skipped: %s: %s", type(exc).__name__, exc)

    thread = threading.Thread(target=run, name="kafka-security-check", daemon=True)
    thread.start()
    thread.join(timeout_s + 5)
    if outcome and outcome[0] is not None:
        raise KafkaSecurityError(outcome[0])


def new_kafka_python_producer(settings: Settings, **extra: Any) -> Any:
    """A :class:`kafka.KafkaProducer` with the settings' connection options
    (after :func:`check_security`)."""
    from kafka import KafkaProducer

    check_security(settings)
    return KafkaProducer(**kafka_python_options(settings, **extra))


def new_kafka_python_consumer(settings: Settings, **extra: Any) -> Any:
    """A :class:`kafka.KafkaConsumer` with the settings' connection options
    (after :func:`check_security`)."""
    from kafka import KafkaConsumer

    check_security(settings)
    return KafkaConsumer(**kafka_python_options(settings, **extra))


def new_admin(settings: Settings, **extra: Any) -> Any:
    """A :class:`kafka.admin.KafkaAdminClient` with the settings' connection options
    (after :func:`check_security`)."""
    from kafka.admin import KafkaAdminClient

    check_security(settings)
    return KafkaAdminClient(**kafka_python_options(settings, **extra))


def new_aiokafka_producer(settings: Settings, **extra: Any) -> Any:
    """An :class:`aiokafka.AIOKafkaProducer` (not started) with the connection options."""
    from aiokafka import AIOKafkaProducer

    options = {"retry_backoff_ms": settings.retry_backoff_ms, **extra}
    return AIOKafkaProducer(**aiokafka_options(settings, **options))


def new_faust_app(
    settings: Settings,
    *,
    on_seek_to_committed: Callable[[Mapping[Any, int | None]], None] | None = None,
    **options: Any,
) -> faust.App:
    """A :class:`faust.App` named ``settings.app_id`` on the settings' brokers
    (:func:`faust_options`, then ``options``), whose aiokafka consumer and producer wait
    ``settings.retry_backoff_ms`` between retries, and whose consumer calls
    ``on_seek_to_committed`` with ``{tp: committed offset or None}`` each time Faust seeks
    its partitions to their committed offsets (at each rebalance, before the stream goes
    on).

    Faust (0.15.3) has no option for that wait and leaves aiokafka's 100 ms, which
    aiokafka never lengthens while a broker stays away (aio-libs/aiokafka#496): each of
    the consumer's loops (metadata, coordinator, fetcher) and each producer reconnects ten
    times a second for as long as an outage lasts.
    """
    app_class = _faust_app_class(settings.retry_backoff_ms)
    return app_class(
        settings.app_id,
        on_seek_to_committed=on_seek_to_committed,
        **faust_options(settings),
        **options,
    )


def set_consumer_retry_backoff(consumer: Any, retry_backoff_ms: int) -> None:
    """Set an :class:`aiokafka.AIOKafkaConsumer`'s retry wait after it was built (before
    ``start``, which hands the wait to the fetcher and the group coordinator it makes).

    Raises:
        AttributeError: if aiokafka no longer keeps the wait where this sets it (an
            upgrade must not silently bring the 100 ms back).
    """
    client = consumer._client
    for owner, name in ((consumer, "_retry_backoff_ms"), (client, "_retry_backoff")):
        if not hasattr(owner, name):
            raise AttributeError(f"{type(owner).__name__} has no {name}: aiokafka changed")
    consumer._retry_backoff_ms = retry_backoff_ms
    client._retry_backoff = retry_backoff_ms / 1000


@functools.cache
def _faust_app_class(retry_backoff_ms: int) -> type[faust.App]:
    # Made on first use, one per wait: the feed and the topics command never import Faust.
    import faust
    from faust.transport.drivers import aiokafka as driver
    from faust.types import TP

    class ConsumerThread(driver.AIOKafkaConsumerThread):
        def _create_consumer(self, loop: asyncio.AbstractEventLoop) -> Any:
            consumer = super()._create_consumer(loop)
            set_consumer_retry_backoff(consumer, retry_backoff_ms)
            return consumer

    class WorkerConsumer(driver.Consumer):
        def _new_consumer_thread(self) -> Any:
            return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

        async def seek_to_committed(self) -> Mapping[TP, int]:
            committed = await super().seek_to_committed()
            listener = getattr(self.app, "on_seek_to_committed", None)
            if listener is not None:
                listener(committed)
            return committed

    class RetryingProducer(driver.Producer):
        def _settings_default(self) -> Mapping[str, Any]:
            return {**super()._settings_default(), "retry_backoff_ms": retry_backoff_ms}

    class Transport(driver.Transport):
        Consumer = WorkerConsumer
        Producer = RetryingProducer

    class App(faust.App):
        def __init__(
            self,
            *args: Any,
            on_seek_to_committed: Callable[[Mapping[Any, int | None]], None] | None = None,
            **kwargs: Any,
        ) -> None:
            super().__init__(*args, **kwargs)
            self.on_seek_to_committed = on_seek_to_committed

        def _new_transport(self) -> Any:
            return Transport(self.conf.broker_consumer, self)

        def _new_producer_transport(self) -> Any:
            return Transport(self.conf.broker_producer, self)

    return App
