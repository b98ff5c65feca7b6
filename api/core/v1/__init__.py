"""Kubernetes core/v1 types served in standalone mode, generated from api/openapi/core/v1.yaml."""

from api.core.v1.register import API_VERSION, GROUP, SECRETS, VERSION
from api.core.v1.zz_generated_models import Secret, SecretList

__all__ = ["API_VERSION", "GROUP", "SECRETS", "VERSION", "Secret", "SecretList"]
