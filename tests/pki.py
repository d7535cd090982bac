"""Throwaway certificates for the TLS tests, made with ``openssl`` (EC P-256: quick).

A CA signs a broker certificate for 127.0.0.1 and localhost (in a PKCS12 keystore for the
broker, which Java reads as it is) and a client certificate whose key is encrypted with a
passphrase; a second, unrelated CA plays the wrong one.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]


@dataclass(frozen=True)
class Pki:
    ca: Path  # the CA certificate (PEM): clients' ssl_cafile, the broker's truststore
    other_ca: Path  # a CA that signed nothing here
    broker_keystore: Path  # PKCS12: broker key, certificate, CA
    store_password: str
    client_cert: Path  # PEM, signed by ``ca``
    client_key: Path  # PEM, encrypted with ``key_password``
    key_password: str
    client_bundle: Path  # certificate and unencrypted key in one PEM file
    not_pem: Path  # a file that is no certificate


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _ca(directory: Path, name: str) -> None:
    _openssl(
        "req", "-x509", *EC, "-nodes", "-days", "2", "-subj", f"/CN={name}",
        "-keyout", f"{name}.key", "-out", f"{name}.pem",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip


def _signed(directory: Path, name: str, extensions: str, key_args: list[str]) -> None:
    (directory / f"{name}.ext").write_text(extensions)
    _openssl(
        "req", "-new", "-key", f"{name}.key", *key_args, "-subj", f"/CN={name}",
        "-out", f"{name}.csr", cwd=directory,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem",
        cwd=directory,
    )  # fmt: skip


def make_pki(directory: Path, store_password: str, key_password: str) -> Pki:
    """Write the CA, broker and client files into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    _ca(directory, "ca")
    _ca(directory, "other-ca")

    genkey = ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    _openssl(*genkey, "-out", "broker.key", cwd=directory)
    _signed(
        directory,
        "broker",
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
        "basicConstraints=CA:FALSE\n",
        [],
    )
    _openssl(
        "pkcs12", "-export", "-in", "broker.pem", "-inkey", "broker.key",
        "-certfile", "ca.pem", "-name", "broker", "-out", "broker.p12",
        "-passout", f"pass:{store_password}", cwd=directory,
    )  # fmt: skip

    _openssl(
        *genkey, "-aes256", "-pass", f"pass:{key_password}", "-out", "client.key",
        cwd=directory,
    )  # fmt: skip
    _signed(
        directory,
        "client",
        "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n",
        ["-passin", f"pass:{key_password}"],
    )
    _openssl(
        "pkey", "-in", "client.key", "-passin", f"pass:{key_password}", "-out", "plain.key",
        cwd=directory,
    )  # fmt: skip
    bundle = directory / "client-bundle.pem"
    bundle.write_bytes(
        (directory / "client.pem").read_bytes() + (directory / "plain.key").read_bytes()
    )
    not_pem = directory / "not-a-certificate.pem"
    not_pem.write_text("this is not a certificate\n")
    return Pki(
        ca=directory / "ca.pem",
        other_ca=directory / "other-ca.pem",
        broker_keystore=directory / "broker.p12",
        store_password=store_password,
        client_cert=directory / "client.pem",
        client_key=directory / "client.key",
        key_password=key_password,
        client_bundle=bundle,
        not_pem=not_pem,
    )
