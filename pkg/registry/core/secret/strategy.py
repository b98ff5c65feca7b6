"""Rules of core v1 Secrets, as kube-apiserver applies them (pkg/registry/core/secret/strategy.go).

Where this sits: :mod:`pkg.registry.core.secret.storage` hands a :class:`SecretStrategy` to
the generic store, which runs it through the create/update drivers. Standalone porch-server
serves Secrets so that ``kubectl create secret generic [--type=kubernetes.io/basic-auth]``
works and repositories can name git credentials; the credential resolver reads them back.

What Kubernetes does and this strategy does too:

* ``type`` defaults to ``Opaque`` and cannot change;
* ``stringData`` is merged into ``data`` (base64-encoded, overriding equal keys) and never
  stored or returned;
* ``data`` keys are config keys (``[-._a-zA-Z0-9]+``, not ``.``/``..``), values are
  base64 (a bad one is 422 naming ``data[key]``; Kubernetes rejects it while decoding),
  at most 1 MiB decoded in total;
* typed secrets carry their keys: ``kubernetes.io/basic-auth`` needs ``username`` or
  ``password``, ``kubernetes.io/ssh-auth`` a non-empty ``ssh-privatekey``,
  ``kubernetes.io/tls`` ``tls.crt`` and ``tls.key``, the docker config types their JSON;
* ``immutable: true`` freezes ``data`` and itself;
* field selectors: ``metadata.name``, ``metadata.namespace``, ``type``.

Values are never echoed in errors (``<secret contents redacted>``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Final

from pydantic import BaseModel

from api.core import v1 as corev1
from pkg.apimachinery import field, validation
from pkg.registry.generic import strategy as genericstrategy
from pkg.registry.rest import objectmeta, rest

__all__ = [
    "BASIC_AUTH_PASSWORD_KEY",
    "BASIC_AUTH_USERNAME_KEY",
    "MAX_SECRET_SIZE",
    "TYPE_BASIC_AUTH",
    "TYPE_OPAQUE",
    "SecretStrategy",
    "decoded_data",
]

TYPE_OPAQUE: Final = "Opaque"
TYPE_BASIC_AUTH: Final = "kubernetes.io/basic-auth"
TYPE_SSH_AUTH: Final = "kubernetes.io/ssh-auth"
TYPE_TLS: Final = "kubernetes.io/tls"
TYPE_DOCKERCFG: Final = "kubernetes.io/dockercfg"
TYPE_DOCKER_CONFIG_JSON: Final = "kubernetes.io/dockerconfigjson"
TYPE_SERVICE_ACCOUNT_TOKEN: Final = "kubernetes.io/service-account-token"  # noqa: S105

BASIC_AUTH_USERNAME_KEY: Final = "username"
BASIC_AUTH_PASSWORD_KEY: Final = "password"  # noqa: S105 - a key name, not a password
SSH_AUTH_PRIVATE_KEY: Final = "ssh-privatekey"
TLS_CERT_KEY: Final = "tls.crt"
TLS_PRIVATE_KEY_KEY: Final = "tls.key"
DOCKERCFG_KEY: Final = ".dockercfg"
DOCKER_CONFIG_JSON_KEY: Final = ".dockerconfigjson"
SERVICE_ACCOUNT_NAME_ANNOTATION: Final = "kubernetes.io/service-account.name"

MAX_SECRET_SIZE: Final = 1024 * 1024
"""Decoded bytes of all values together (Go's MaxSecretSize)."""

TYPE_FIELD: Final = "type"
_REDACTED: Final = "<secret contents redacted>"
_IMMUTABLE_WHEN_SET: Final = "field is immutable when `immutable` is set"

_CONFIG_KEY_FMT: Final = "[-._a-zA-Z0-9]+"
_CONFIG_KEY_RE: Final = re.compile(_CONFIG_KEY_FMT)
_CONFIG_KEY_ERR: Final = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
)


def decoded_data(secret: corev1.Secret) -> dict[str, bytes]:
    """The secret's values as bytes (what the credential resolver uses).

    Stored secrets have passed validation, so every value decodes.
    """
    return {key: _b64decode(value) for key, value in (secret.data or {}).items()}


def _b64decode(value: str) -> bytes:
    # Go's base64.StdEncoding skips CR and LF; everything else must be canonical.
    return base64.b64decode(value.replace("\r", "").replace("\n", ""), validate=True)


def _is_config_key(key: str) -> list[str]:
    errs: list[str] = []
    if len(key.encode()) > validation.DNS1123_SUBDOMAIN_MAX_LENGTH:
        errs.append(validation.max_len_error(validation.DNS1123_SUBDOMAIN_MAX_LENGTH))
    if not _CONFIG_KEY_RE.fullmatch(key):
        errs.append(
            validation.regex_error(
                _CONFIG_KEY_ERR, _CONFIG_KEY_FMT, "key.name", "KEY_NAME", "key-name"
            )
        )
    if key == ".":
        errs.append("must not be '.'")
    elif key == "..":
        errs.append("must not be '..'")
    elif key.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def _secret(obj: BaseModel) -> corev1.Secret:
    if not isinstance(obj, corev1.Secret):
        raise TypeError(f"expected a Secret, got {type(obj).__name__}")
    return obj


def _merge_string_data(secret: corev1.Secret) -> None:
    # Kubernetes does this while converting the request to its internal type, before
    # any hook runs: stringData wins over data for the same key and is never stored.
    if secret.string_data:
        data = dict(secret.data or {})
        for key, value in secret.string_data.items():
            data[key] = base64.b64encode(value.encode("utf-8")).decode("ascii")
        secret.data = data
    secret.string_data = None
    if not secret.type:
        secret.type = TYPE_OPAQUE


def validate_secret(secret: corev1.Secret) -> field.ErrorList:
    """Every problem of a secret about to be stored (Go's ``ValidateSecret``)."""
    errs = objectmeta.validate_object_meta(
        objectmeta.meta_of(secret),
        namespaced=True,
        name_validator=validation.is_dns1123_subdomain,
    )
    data_path = field.new_path("data")
    decoded: dict[str, bytes] = {}
    for key, value in (secret.data or {}).items():
        errs.extend(field.invalid(data_path.key(key), key, msg) for msg in _is_config_key(key))
        try:
            decoded[key] = _b64decode(value)
        except (binascii.Error, ValueError):
            errs.append(
                field.invalid(
                    data_path.key(key), _REDACTED, "a secret value must be base64-encoded"
                )
            )
    if sum(len(v) for v in decoded.values()) > MAX_SECRET_SIZE:
        errs.append(field.too_long(data_path, "", MAX_SECRET_SIZE))
    errs.extend(_validate_type(secret, data_path, decoded))
    return errs


def _validate_type(
    secret: corev1.Secret, data_path: field.Path, decoded: Mapping[str, bytes]
) -> field.ErrorList:
    errs = field.ErrorList()
    data = secret.data or {}
    if secret.type == TYPE_BASIC_AUTH:
        # Either may be empty, but one of the keys must be there.
        if BASIC_AUTH_USERNAME_KEY not in data and BASIC_AUTH_PASSWORD_KEY not in data:
            errs.append(field.required(data_path.key(BASIC_AUTH_USERNAME_KEY)))
            errs.append(field.required(data_path.key(BASIC_AUTH_PASSWORD_KEY)))
    elif secret.type == TYPE_SSH_AUTH:
        if not decoded.get(SSH_AUTH_PRIVATE_KEY):
            errs.append(field.required(data_path.key(SSH_AUTH_PRIVATE_KEY)))
    elif secret.type == TYPE_TLS:
        for key in (TLS_CERT_KEY, TLS_PRIVATE_KEY_KEY):
            if key not in data:
                errs.append(field.required(data_path.key(key)))
    elif secret.type in (TYPE_DOCKERCFG, TYPE_DOCKER_CONFIG_JSON):
        key = DOCKERCFG_KEY if secret.type == TYPE_DOCKERCFG else DOCKER_CONFIG_JSON_KEY
        if key not in data:
            errs.append(field.required(data_path.key(key)))
        elif key in decoded:
            try:
                json.loads(decoded[key])
            except ValueError as err:
                errs.append(field.invalid(data_path.key(key), _REDACTED, str(err)))
    elif secret.type == TYPE_SERVICE_ACCOUNT_TOKEN:
        annotations = objectmeta.meta_of(secret).annotations or {}
        if not annotations.get(SERVICE_ACCOUNT_NAME_ANNOTATION):
            errs.append(
                field.required(
                    field.new_path("metadata", "annotations").key(SERVICE_ACCOUNT_NAME_ANNOTATION)
                )
            )
    return errs


class SecretStrategy(genericstrategy.DefaultStrategy):
    """Create and update rules of Secrets (module docstring)."""

    def selectable_fields(self) -> frozenset[str]:
        return super().selectable_fields() | {TYPE_FIELD}

    def get_attrs(self, obj: BaseModel) -> tuple[Mapping[str, str], Mapping[str, str]]:
        obj_labels, obj_fields = super().get_attrs(obj)
        return obj_labels, {**obj_fields, TYPE_FIELD: _secret(obj).type or ""}

    def prepare_for_create(self, ctx: rest.RequestContext, obj: BaseModel) -> None:
        _merge_string_data(_secret(obj))

    def prepare_for_update(self, ctx: rest.RequestContext, new: BaseModel, old: BaseModel) -> None:
        _merge_string_data(_secret(new))

    def validate(self, ctx: rest.RequestContext, obj: BaseModel) -> field.ErrorList:
        return validate_secret(_secret(obj))

    def validate_update(
        self, ctx: rest.RequestContext, new: BaseModel, old: BaseModel
    ) -> field.ErrorList:
        new_secret, old_secret = _secret(new), _secret(old)
        errs = field.ErrorList()
        if new_secret.type != old_secret.type:
            errs.append(
                field.invalid(field.new_path("type"), new_secret.type, "field is immutable")
            )
        if old_secret.immutable:
            if not new_secret.immutable:
                errs.append(field.forbidden(field.new_path("immutable"), _IMMUTABLE_WHEN_SET))
            if (new_secret.data or {}) != (old_secret.data or {}):
                errs.append(field.forbidden(field.new_path("data"), _IMMUTABLE_WHEN_SET))
        errs.extend(validate_secret(new_secret))
        return errs
