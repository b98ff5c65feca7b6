"""Registration facts of the core ("") group, version v1, as porch-py serves it."""

from api import resourceinfo

GROUP = ""
VERSION = "v1"
API_VERSION = "v1"

SECRETS = resourceinfo.ResourceInfo(
    group=GROUP,
    version=VERSION,
    kind="Secret",
    list_kind="SecretList",
    plural="secrets",
    singular="secret",
    namespaced=True,
)

RESOURCES = (SECRETS,)
