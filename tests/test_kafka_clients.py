"""Security settings and their mapping onto kafka-python, aiokafka and Faust options.

No broker here: the real TLS and SASL connections are in tests/stream/test_security.py.
"""

# The passwords here are throwaway test values, made to be searched for in output.
# ruff: noqa: S105, S106

from __future__ import annotations

import dataclasses
import socket
import ssl
import time
from pathlib import Path
from typing import Any

import pytest

from tests.pki import Pki, make_pki
from worker.kafka_clients import (
    RedactedStr,
    aiokafka_options,
    check_security,
    faust_options,
    kafka_python_options,
    ssl_context,
)
from worker.settings import Secret, Settings, SettingsError, load_settings

PASSWORD = "pw-7d1c-sasl-secret"
KEY_PASSWORD = "pw-93ab-key-secret"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"), "store-pw", KEY_PASSWORD)


def env_for(pki: Pki, protocol: str, **extra: str) -> dict[str, str]:
    """Consistent settings for ``protocol``: TLS with a client certificate, SASL as alice."""
    env = {"ARTICLE_WORKER_BROKER": "kafka://a:1;kafka://b:2"}
    env["ARTICLE_WORKER_SECURITY_PROTOCOL"] = protocol
    if protocol in ("SSL", "SASL_SSL"):
        env["ARTICLE_WORKER_SSL_CAFILE"] = str(pki.ca)
    if protocol == "SSL":
        env["ARTICLE_WORKER_SSL_CERTFILE"] = str(pki.client_cert)
        env["ARTICLE_WORKER_SSL_KEYFILE"] = str(pki.client_key)
        env["ARTICLE_WORKER_SSL_KEY_PASSWORD"] = KEY_PASSWORD
    if protocol.startswith("SASL"):
        env["ARTICLE_WORKER_SASL_MECHANISM"] = "SCRAM-SHA-512"
        env["ARTICLE_WORKER_SASL_USERNAME"] = "alice"
        env["ARTICLE_WORKER_SASL_PASSWORD"] = PASSWORD
    env.update(extra)
    return {k: v for k, v in env.items() if v}


def settings_for(pki: Pki, protocol: str, **extra: str) -> Settings:
    return load_settings(env=env_for(pki, protocol, **extra))


def problems(env: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as info:
        load_settings(env=env)
    return str(info.value)


# -- option mapping -------------------------------------------------------------------------


def test_plaintext_options_are_unchanged() -> None:
    s = load_settings(env={"ARTICLE_WORKER_BROKER": "kafka://a:1;kafka://b:2"})
    assert kafka_python_options(s, client_id="x") == {
        "bootstrap_servers": ["a:1", "b:2"],
        "client_id": "x",
    }
    assert aiokafka_options(s) == {"bootstrap_servers": "a:1,b:2"}
    assert faust_options(s) == {"broker": "kafka://a:1;kafka://b:2"}
    assert ssl_context(s) is None


def test_ssl_with_client_certificate(pki: Pki) -> None:
    s = settings_for(pki, "SSL")
    options = kafka_python_options(s)
    assert options == {
        "bootstrap_servers": ["a:1", "b:2"],
        "security_protocol": "SSL",
        "ssl_cafile": str(pki.ca),
        "ssl_certfile": str(pki.client_cert),
        "ssl_keyfile": str(pki.client_key),
        "ssl_password": KEY_PASSWORD,
        "ssl_check_hostname": True,
    }
    assert not any(k.startswith("sasl") for k in options)

    aio = aiokafka_options(s)
    assert aio["security_protocol"] == "SSL"
    context = aio["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert {c["subject"] for c in context.get_ca_certs()} == {((("commonName", "ca"),),)}


def test_sasl_ssl_scram(pki: Pki) -> None:
    s = settings_for(pki, "SASL_SSL")
    options = kafka_python_options(s)
    assert options["security_protocol"] == "SASL_SSL"
    assert options["ssl_cafile"] == str(pki.ca)
    assert options["ssl_certfile"] is None  # no client certificate: optional
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "alice"
    assert options["sasl_plain_password"] == PASSWORD

    aio = aiokafka_options(s, acks="all")
    assert aio["acks"] == "all"
    assert (aio["security_protocol"], aio["sasl_mechanism"]) == ("SASL_SSL", "SCRAM-SHA-512")
    assert (aio["sasl_plain_username"], aio["sasl_plain_password"]) == ("alice", PASSWORD)
    assert isinstance(aio["ssl_context"], ssl.SSLContext)


def faust_auth(s: Settings) -> dict[str, Any]:
    """What Faust's aiokafka driver hands its consumer and producer for these settings."""
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    options = faust_options(s)
    assert options["broker"] == s.broker
    return dict(credentials_to_aiokafka_auth(options.get("broker_credentials")))


@pytest.mark.parametrize(
    ("protocol", "mechanism"),
    [("SASL_SSL", "SCRAM-SHA-512"), ("SASL_SSL", "SCRAM-SHA-256"), ("SASL_PLAINTEXT", "PLAIN")],
)
def test_faust_gets_the_same_sasl_options(pki: Pki, protocol: str, mechanism: str) -> None:
    s = settings_for(pki, protocol, ARTICLE_WORKER_SASL_MECHANISM=mechanism)
    auth = faust_auth(s)
    assert auth["security_protocol"] == protocol
    assert auth["sasl_mechanism"] == mechanism
    assert (auth["sasl_plain_username"], auth["sasl_plain_password"]) == ("alice", PASSWORD)
    if protocol == "SASL_SSL":
        assert isinstance(auth["ssl_context"], ssl.SSLContext)
    else:
        assert auth["ssl_context"] is None
    expected = {k: v for k, v in aiokafka_options(s).items() if k != "bootstrap_servers"}
    assert {k: v for k, v in auth.items() if k != "ssl_context"} == {
        k: v for k, v in expected.items() if k != "ssl_context"
    }


def test_faust_gets_ssl(pki: Pki) -> None:
    auth = faust_auth(settings_for(pki, "SSL"))
    assert auth["security_protocol"] == "SSL"
    assert isinstance(auth["ssl_context"], ssl.SSLContext)
    assert faust_auth(load_settings(env={})) == {"security_protocol": "PLAINTEXT"}


def test_hostname_check_can_be_turned_off(pki: Pki) -> None:
    s = settings_for(pki, "SASL_SSL", ARTICLE_WORKER_SSL_CHECK_HOSTNAME="false")
    assert s.ssl_check_hostname is False
    assert kafka_python_options(s)["ssl_check_hostname"] is False
    context = aiokafka_options(s)["ssl_context"]
    assert context.check_hostname is False
    assert context.verify_mode == ssl.CERT_REQUIRED  # the CA is still checked


def test_certificate_and_key_in_one_file(pki: Pki) -> None:
    s = settings_for(
        pki,
        "SSL",
        ARTICLE_WORKER_SSL_CERTFILE=str(pki.client_bundle),
        ARTICLE_WORKER_SSL_KEYFILE="",
        ARTICLE_WORKER_SSL_KEY_PASSWORD="",
    )
    options = kafka_python_options(s)
    assert (options["ssl_certfile"], options["ssl_keyfile"]) == (str(pki.client_bundle), None)
    assert options["ssl_password"] is None
    assert isinstance(ssl_context(s), ssl.SSLContext)


def test_secrets_are_masked_in_option_dumps(pki: Pki) -> None:
    s = settings_for(pki, "SASL_SSL")
    for options in (kafka_python_options(s), aiokafka_options(s), faust_options(s)):
        # kafka-python's admin client logs its options like this at debug level.
        assert PASSWORD not in "%s %r" % (options, options)  # noqa: UP031
    password = kafka_python_options(s)["sasl_plain_password"]
    assert isinstance(password, RedactedStr)
    assert (repr(password), str(password)) == ("'***'", "***")
    assert password.encode() == PASSWORD.encode()  # what the SCRAM and PLAIN code use
    assert "\0".join(["alice", password]) == f"alice\0{PASSWORD}"


# -- settings -------------------------------------------------------------------------------


def test_security_settings_from_the_environment(pki: Pki) -> None:
    s = load_settings(
        env=env_for(
            pki,
            "SASL_SSL",
            ARTICLE_WORKER_SECURITY_PROTOCOL="sasl_ssl",
            ARTICLE_WORKER_SASL_MECHANISM="scram-sha-256",
            ARTICLE_WORKER_SSL_CHECK_HOSTNAME="no",
        )
    )
    assert (s.security_protocol, s.sasl_mechanism) == ("SASL_SSL", "SCRAM-SHA-256")
    assert s.ssl_check_hostname is False
    assert s.sasl_password == Secret(PASSWORD)
    assert s.uses_tls
    assert s.uses_sasl


def test_defaults_are_plaintext() -> None:
    s = Settings()
    assert (s.security_protocol, s.uses_tls, s.uses_sasl) == ("PLAINTEXT", False, False)
    assert not s.sasl_password
    assert s.ssl_check_hostname is True


def test_secrets_never_print(pki: Pki) -> None:
    s = settings_for(pki, "SSL")
    s = Settings(**{**{f: getattr(s, f) for f in s.__dataclass_fields__}, "sasl_password": "x"})
    assert isinstance(s.sasl_password, Secret)  # a plain str is wrapped
    for text in (repr(s), str(s), f"{s.ssl_key_password}", "%s" % s.ssl_key_password):  # noqa: UP031
        assert KEY_PASSWORD not in text
    assert "Secret('***')" in repr(s)
    assert KEY_PASSWORD not in repr(dataclasses.asdict(s))
    assert s.ssl_key_password.reveal() == KEY_PASSWORD


def test_password_from_file(tmp_path: Path, pki: Pki) -> None:
    secret = tmp_path / "sasl-password"
    secret.write_text(PASSWORD + "\n")  # as `echo` and Kubernetes secrets leave it
    env = env_for(pki, "SASL_SSL", ARTICLE_WORKER_SASL_PASSWORD="")
    env["ARTICLE_WORKER_SASL_PASSWORD_FILE"] = str(secret)
    assert load_settings(env=env).sasl_password.reveal() == PASSWORD

    key_secret = tmp_path / "key-password"
    key_secret.write_text(KEY_PASSWORD)
    config = tmp_path / "worker.toml"
    config.write_text(f'ssl_key_password_file = "{key_secret}"\n')
    env = env_for(pki, "SSL", ARTICLE_WORKER_SSL_KEY_PASSWORD="")
    assert load_settings(env=env, config_file=config).ssl_key_password.reveal() == KEY_PASSWORD


def test_password_file_problems(tmp_path: Path, pki: Pki) -> None:
    env = env_for(pki, "SASL_SSL")
    env["ARTICLE_WORKER_SASL_PASSWORD_FILE"] = str(tmp_path / "missing")
    message = problems(env)
    assert "ARTICLE_WORKER_SASL_PASSWORD and ARTICLE_WORKER_SASL_PASSWORD_FILE" in message

    del env["ARTICLE_WORKER_SASL_PASSWORD"]
    message = problems(env)
    assert "ARTICLE_WORKER_SASL_PASSWORD_FILE: cannot read" in message
    assert "missing" in message

    binary = tmp_path / "binary"
    binary.write_bytes(b"pw\xff\xfe")
    env["ARTICLE_WORKER_SASL_PASSWORD_FILE"] = str(binary)
    message = problems(env)
    assert "is not UTF-8 text" in message
    assert "0xff" not in message  # no piece of the secret


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            {"ARTICLE_WORKER_SASL_MECHANISM": "", "ARTICLE_WORKER_SASL_USERNAME": ""},
            ["sasl_mechanism: required", "sasl_username: required"],
        ),
        ({"ARTICLE_WORKER_SASL_PASSWORD": ""}, ["sasl_password: required"]),
        ({"ARTICLE_WORKER_SASL_MECHANISM": "GSSAPI"}, ["sasl_mechanism: must be one of"]),
        ({"ARTICLE_WORKER_SSL_CAFILE": ""}, ["ssl_cafile: required"]),
        ({"ARTICLE_WORKER_SSL_CAFILE": "/nonexistent/ca.pem"}, ["ssl_cafile: cannot read"]),
        ({"ARTICLE_WORKER_SECURITY_PROTOCOL": "TLS"}, ["security_protocol: must be one of"]),
        ({"ARTICLE_WORKER_SSL_CHECK_HOSTNAME": "maybe"}, ["SSL_CHECK_HOSTNAME: expected bool"]),
    ],
)
def test_inconsistent_sasl_ssl_settings(
    pki: Pki, extra: dict[str, str], expected: list[str]
) -> None:
    env = {**env_for(pki, "SASL_SSL"), **extra}
    message = problems({k: v for k, v in env.items() if v})
    for text in expected:
        assert text in message
    assert PASSWORD not in message


def test_unusable_tls_files(pki: Pki) -> None:
    assert "ssl_cafile: no CA certificate" in problems(
        env_for(pki, "SSL", ARTICLE_WORKER_SSL_CAFILE=str(pki.not_pem))
    )
    message = problems(env_for(pki, "SSL", ARTICLE_WORKER_SSL_KEY_PASSWORD="wrong-passphrase"))
    assert "cannot load the client certificate and key" in message
    assert "wrong-passphrase" not in message
    # An encrypted key without a passphrase is an error, not an OpenSSL prompt on the tty.
    message = problems(env_for(pki, "SSL", ARTICLE_WORKER_SSL_KEY_PASSWORD=""))
    assert "cannot load the client certificate and key" in message
    assert "ssl_keyfile: set without ssl_certfile" in problems(
        env_for(pki, "SSL", ARTICLE_WORKER_SSL_CERTFILE="")
    )


def test_security_settings_unused_by_the_protocol_are_errors(pki: Pki) -> None:
    message = problems(env_for(pki, "SSL", ARTICLE_WORKER_SASL_USERNAME="alice"))
    assert "sasl_username: set, but security_protocol SSL does not use SASL" in message
    env = env_for(pki, "SSL")
    env["ARTICLE_WORKER_SECURITY_PROTOCOL"] = "PLAINTEXT"
    message = problems(env)
    for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile", "ssl_key_password"):
        assert f"{name}: set, but security_protocol PLAINTEXT does not use TLS" in message
    assert KEY_PASSWORD not in message


def test_secret_of_the_wrong_type_is_not_echoed(tmp_path: Path) -> None:
    config = tmp_path / "worker.toml"
    config.write_text("sasl_password = 918273645\n")
    with pytest.raises(SettingsError) as info:
        load_settings(env={}, config_file=config)
    assert "918273645" not in str(info.value)
    assert "sasl_password" in str(info.value)


# -- the test connection ----------------------------------------------------------------------


def test_check_security_skips_plaintext_and_unreachable_brokers(pki: Pki) -> None:
    check_security(load_settings(env={"ARTICLE_WORKER_BROKER": "kafka://192.0.2.1:9"}))
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    s = settings_for(pki, "SASL_SSL", ARTICLE_WORKER_BROKER=f"kafka://127.0.0.1:{port}")
    started = time.monotonic()
    check_security(s)  # refused: the clients' own retries and timeouts deal with that
    assert time.monotonic() - started < 5


def test_refusals_are_explained_and_outages_are_left_to_the_clients(pki: Pki) -> None:
    import aiokafka.errors

    from worker.kafka_clients import _explain

    s = settings_for(pki, "SASL_SSL")
    verify = ssl.SSLCertVerificationError(1, "certificate verify failed")
    verify.verify_message = "unable to get local issuer certificate"
    assert "is ssl_cafile" in (_explain(s, "h:1", verify) or "")
    failed = aiokafka.errors.SaslAuthenticationFailed("invalid credentials")
    assert "authentication as 'alice'" in (_explain(s, "h:1", failed) or "")
    assert "closed the connection" in (_explain(s, "h:1", ConnectionResetError()) or "")
    for outage in (
        ConnectionRefusedError(),
        TimeoutError(),
        aiokafka.errors.RequestTimedOutError(),
    ):
        assert _explain(s, "h:1", outage) is None
