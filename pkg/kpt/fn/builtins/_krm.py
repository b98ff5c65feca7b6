"""KRM object helpers shared by the builtin functions.

Where it sits: below every module of `pkg.kpt.fn.builtins`. The function runtime hands a builtin
a `ResourceList` in `pkg.kpt.yamlutil`'s data model (ruamel `CommentedMap`/`CommentedSeq`,
quoted strings as ruamel's scalar-string classes, comments and the original spelling of plain
scalars in `yamlutil.EntryMeta`); the builtins read and change those nodes through these
helpers, which mirror what the catalog's Go functions get from the KRM functions SDK
(`fn.KubeObject`) and kyaml: GVK tests, the namespace-scope table, local-config detection,
scalar text as the file spells it, nested set that appends new keys at the end of their
mapping, result items, failures, stderr, and the item order SDK functions write.

Nothing here knows about files or images; the runtime (`pkg.kpt.fn`) owns those.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, NoReturn

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)

from pkg.apimachinery import strconv
from pkg.kpt import pkgio, yamlutil
from pkg.kpt.fn import fnerrors

# Annotations kpt puts on every item (section 1.5 of the reference), as package I/O names them.
PATH_ANNOTATION = pkgio.PATH_ANNOTATION
INDEX_ANNOTATION = pkgio.INDEX_ANNOTATION
LEGACY_PATH_ANNOTATION = pkgio.LEGACY_PATH_ANNOTATION
LEGACY_INDEX_ANNOTATION = pkgio.LEGACY_INDEX_ANNOTATION
ID_ANNOTATION = pkgio.ID_ANNOTATION
LEGACY_ID_ANNOTATION = pkgio.LEGACY_ID_ANNOTATION
LOCAL_CONFIG_ANNOTATION = "config.kubernetes.io/local-config"
UPSTREAM_IDENTIFIER_ANNOTATION = "internal.kpt.dev/upstream-identifier"

# The stderr line every SDK-based function (fn.AsMain) writes when it fails.
SDK_FAILURE_STDERR = "failed to evaluate function: error: function failure"

DEFAULT_NAMESPACE = "default"
# fn.UnknownNamespace: the "namespace" of cluster-scoped or unknown-scoped objects.
UNKNOWN_NAMESPACE = "~C"

INFO = "info"
WARNING = "warning"
ERROR = "error"

# The SDK's copy of kyaml's precomputed scope table (apiVersion, kind) -> namespaced.
_NAMESPACE_SCOPED: dict[tuple[str, str], bool] = {}


def _scope_table(entries: str, namespaced: bool) -> None:
    for line in entries.split():
        api_version_text, kind_name = line.split("|")
        _NAMESPACE_SCOPED[(api_version_text, kind_name)] = namespaced


_scope_table(
    """
    admissionregistration.k8s.io/v1|MutatingWebhookConfiguration
    admissionregistration.k8s.io/v1|ValidatingWebhookConfiguration
    admissionregistration.k8s.io/v1beta1|MutatingWebhookConfiguration
    admissionregistration.k8s.io/v1beta1|ValidatingWebhookConfiguration
    apiextensions.k8s.io/v1|CustomResourceDefinition
    apiextensions.k8s.io/v1beta1|CustomResourceDefinition
    apiregistration.k8s.io/v1|APIService
    apiregistration.k8s.io/v1beta1|APIService
    certificates.k8s.io/v1|CertificateSigningRequest
    certificates.k8s.io/v1beta1|CertificateSigningRequest
    flowcontrol.apiserver.k8s.io/v1beta1|FlowSchema
    flowcontrol.apiserver.k8s.io/v1beta1|PriorityLevelConfiguration
    networking.k8s.io/v1|IngressClass
    networking.k8s.io/v1beta1|IngressClass
    node.k8s.io/v1|RuntimeClass
    node.k8s.io/v1beta1|RuntimeClass
    policy/v1beta1|PodSecurityPolicy
    rbac.authorization.k8s.io/v1|ClusterRole
    rbac.authorization.k8s.io/v1|ClusterRoleBinding
    rbac.authorization.k8s.io/v1beta1|ClusterRole
    rbac.authorization.k8s.io/v1beta1|ClusterRoleBinding
    scheduling.k8s.io/v1|PriorityClass
    scheduling.k8s.io/v1beta1|PriorityClass
    storage.k8s.io/v1|CSIDriver
    storage.k8s.io/v1|CSINode
    storage.k8s.io/v1|StorageClass
    storage.k8s.io/v1|VolumeAttachment
    storage.k8s.io/v1beta1|CSIDriver
    storage.k8s.io/v1beta1|CSINode
    storage.k8s.io/v1beta1|StorageClass
    storage.k8s.io/v1beta1|VolumeAttachment
    v1|ComponentStatus
    v1|Namespace
    v1|Node
    v1|NodeProxyOptions
    v1|PersistentVolume
    """,
    namespaced=False,
)
_scope_table(
    """
    apps/v1|ControllerRevision
    apps/v1|DaemonSet
    apps/v1|Deployment
    apps/v1|ReplicaSet
    apps/v1|StatefulSet
    autoscaling/v1|HorizontalPodAutoscaler
    autoscaling/v1|Scale
    autoscaling/v2beta1|HorizontalPodAutoscaler
    autoscaling/v2beta2|HorizontalPodAutoscaler
    batch/v1|CronJob
    batch/v1|Job
    batch/v1beta1|CronJob
    coordination.k8s.io/v1|Lease
    coordination.k8s.io/v1beta1|Lease
    discovery.k8s.io/v1|EndpointSlice
    discovery.k8s.io/v1beta1|EndpointSlice
    events.k8s.io/v1|Event
    events.k8s.io/v1beta1|Event
    extensions/v1beta1|Ingress
    networking.k8s.io/v1|Ingress
    networking.k8s.io/v1|NetworkPolicy
    networking.k8s.io/v1beta1|Ingress
    policy/v1|PodDisruptionBudget
    policy/v1beta1|PodDisruptionBudget
    rbac.authorization.k8s.io/v1|Role
    rbac.authorization.k8s.io/v1|RoleBinding
    rbac.authorization.k8s.io/v1beta1|Role
    rbac.authorization.k8s.io/v1beta1|RoleBinding
    storage.k8s.io/v1beta1|CSIStorageCapacity
    v1|ConfigMap
    v1|Endpoints
    v1|Event
    v1|LimitRange
    v1|PersistentVolumeClaim
    v1|Pod
    v1|PodAttachOptions
    v1|PodExecOptions
    v1|PodPortForwardOptions
    v1|PodProxyOptions
    v1|PodTemplate
    v1|ReplicationController
    v1|ResourceQuota
    v1|Secret
    v1|Service
    v1|ServiceAccount
    v1|ServiceProxyOptions
    """,
    namespaced=True,
)


def namespace_scope_table() -> dict[tuple[str, str], bool]:
    """(apiVersion, kind) -> namespaced, for the built-in Kubernetes types."""
    return dict(_NAMESPACE_SCOPED)


# --------------------------------------------------------------------------- stderr and failures

# What a running builtin writes to its "stderr" (starlark's print); see `capture_stderr`.
_STDERR: ContextVar[list[str] | None] = ContextVar("builtin_stderr", default=None)


def write_stderr(text: str) -> None:
    """Record `text` as written to stderr by the running function (dropped when not captured)."""
    sink = _STDERR.get()
    if sink is not None and text:
        sink.append(text)


@contextlib.contextmanager
def capture_stderr() -> Iterator[list[str]]:
    """Collect what builtins write to stderr in this context (thread- and task-local)."""
    sink: list[str] = []
    token = _STDERR.set(sink)
    try:
        yield sink
    finally:
        _STDERR.reset(token)


def fail(stderr: str, results: Sequence[CommentedMap]) -> NoReturn:
    """End the function run as the catalog image does when it exits non-zero.

    The stderr text is what the process would have written in total, so text written earlier
    with `write_stderr` comes first.
    """
    sink = _STDERR.get()
    earlier = "".join(sink) if sink else ""
    raise fnerrors.FunctionError(earlier + stderr, results=list(results))


# --------------------------------------------------------------------------- scalars

# ruamel's string classes for the non-plain styles (yamlutil's data model)
QUOTED_STYLES = (
    DoubleQuotedScalarString,
    SingleQuotedScalarString,
    LiteralScalarString,
    FoldedScalarString,
)
# kustomize quotes values that YAML 1.1 would read as something else than a string.
_YAML11_NON_STRINGS = frozenset(
    "y Y yes Yes YES n N no No NO on On ON off Off OFF ~ null Null NULL".split()
)


def is_scalar(value: object) -> bool:
    return not isinstance(value, Mapping | list)


def scalar_text(value: object) -> str:
    """The canonical text of a scalar value (kyaml's `Node.Value` for a freshly written node)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return yamlutil.format_float(value)
    return str(value)


def field_text(container: Any, key: Any) -> str:
    """The text of the scalar `container[key]` as the file spells it (`1.50`, `0x1F`, `~`)."""
    value = container[key]
    if isinstance(value, str):
        return str(value)
    meta = yamlutil.entry_meta(container, key)
    if meta is not None and meta.text is not None:
        parsed, _ = yamlutil.plain_value(meta.text)
        if type(parsed) is type(value) and parsed == value:
            return meta.text
    return scalar_text(value)


def set_plain(container: Any, key: Any, text: str) -> None:
    """Make `container[key]` the plain scalar `text` (typed as YAML reads it, spelling kept)."""
    value, canonical = yamlutil.plain_value(text)
    container[key] = value
    meta = yamlutil.entry_meta(container, key)
    if not canonical:
        if meta is None:
            meta = yamlutil.EntryMeta()
            container.ca.items[key] = meta
        meta.text = text
    elif meta is not None:
        meta.text = None


def set_scalar_text(container: Any, key: Any, text: str, *, keep_tag: bool) -> None:
    """Set the text of an existing scalar the way kyaml does (`node.Value = text`).

    The quoting style always stays. With `keep_tag` (kustomize's replacements) a string stays a
    string; without it (apply-setters clears the tag) a plain scalar becomes whatever the new
    text reads as.
    """
    old = container[key]
    if isinstance(old, QUOTED_STYLES):
        container[key] = type(old)(text)
    elif keep_tag and isinstance(old, str):
        container[key] = text
    else:
        set_plain(container, key, text)


def string_scalar(text: str) -> str:
    """A new string node as kyaml writes it: quoted when ambiguous, literal when multi-line."""
    return yamlutil.new_string(text)


def is_yaml11_non_string(text: str) -> bool:
    """kyaml's IsYaml1_1NonString: text YAML 1.1 would read as a bool, number or null."""
    if text == "" or "\n" in text:
        return False
    return text in _YAML11_NON_STRINGS or yamlutil.resolve_plain(text) != "str"


def go_quote(text: str) -> str:
    """Go's `%q` / strconv.Quote."""
    return strconv.quote(text)


def go_list(values: Iterable[str]) -> str:
    """Go's `%v` of a []string: `[a b]`."""
    return "[" + " ".join(values) + "]"


# --------------------------------------------------------------------------- nested access


def get_path(node: object, *path: str) -> object | None:
    cur = node
    for key in path:
        if not isinstance(cur, Mapping) or key not in cur:
            return None
        cur = cur[key]
    return cur


def get_map(node: object, *path: str) -> CommentedMap | None:
    value = get_path(node, *path)
    return value if isinstance(value, CommentedMap) else None


def get_seq(node: object, *path: str) -> list[Any] | None:
    value = get_path(node, *path)
    return value if isinstance(value, list) else None


def nested_string(node: object, *path: str) -> tuple[str, bool]:
    """(text, found) of a scalar field; like the SDK's `NestedString`."""
    cur = node
    for key in path[:-1]:
        if not isinstance(cur, Mapping) or key not in cur:
            return "", False
        cur = cur[key]
    if not isinstance(cur, Mapping) or path[-1] not in cur:
        return "", False
    if not is_scalar(cur[path[-1]]):
        return "", False
    return field_text(cur, path[-1]), True


def set_nested_string(node: CommentedMap, text: str, *path: str) -> None:
    """Set a string field, creating missing maps; new keys go to the end of their mapping.

    An existing quoted scalar keeps its quoting (the SDK sets the value of the existing node);
    anything else becomes a string node as kyaml writes a new one.
    """
    cur = yamlutil.ensure_map(node, *path[:-1])
    key = path[-1]
    old = cur.get(key)
    if isinstance(old, QUOTED_STYLES):
        if str(old) != text:
            cur[key] = type(old)(text)
        return
    if isinstance(old, str) and type(old) is str and old == text:
        return
    cur[key] = string_scalar(text)


# --------------------------------------------------------------------------- object identity


def api_version(obj: object) -> str:
    return nested_string(obj, "apiVersion")[0]


def kind(obj: object) -> str:
    return nested_string(obj, "kind")[0]


def name(obj: object) -> str:
    return nested_string(obj, "metadata", "name")[0]


def namespace(obj: object) -> str:
    return nested_string(obj, "metadata", "namespace")[0]


def has_namespace(obj: object) -> bool:
    return nested_string(obj, "metadata", "namespace")[1]


def parse_group_version(api_version_text: str) -> tuple[str, str]:
    if "/" in api_version_text:
        group, version = api_version_text.split("/", 1)
        return group, version
    return "", api_version_text


def group_version_kind(obj: object) -> tuple[str, str, str]:
    group, version = parse_group_version(api_version(obj))
    return group, version, kind(obj)


def is_gvk(obj: object, group: str, version: str, kind_name: str) -> bool:
    """The SDK's lenient `IsGVK`: an empty argument or an empty value on the object matches."""
    obj_group, obj_version, obj_kind = group_version_kind(obj)
    if obj_kind and kind_name and obj_kind != kind_name:
        return False
    if obj_group and group and obj_group != group:
        return False
    return not (obj_version and version and obj_version != version)


def get_annotations(obj: object) -> dict[str, str]:
    return string_map(get_map(obj, "metadata", "annotations"))


def annotation(obj: object, key: str) -> str:
    return nested_string(obj, "metadata", "annotations", key)[0]


def get_labels(obj: object) -> dict[str, str]:
    return string_map(get_map(obj, "metadata", "labels"))


def string_map(node: object) -> dict[str, str]:
    """A mapping's scalar entries as text (kyaml's GetDataMap / NestedStringMap)."""
    if not isinstance(node, Mapping):
        return {}
    return {str(k): field_text(node, k) for k, v in node.items() if is_scalar(v)}


def is_local_config(obj: object) -> bool:
    value = annotation(obj, LOCAL_CONFIG_ANNOTATION)
    return value not in {"", "false"}


def is_namespace_scoped(obj: object) -> bool:
    scoped = _NAMESPACE_SCOPED.get((api_version(obj), kind(obj)))
    if scoped is not None:
        return scoped
    return has_namespace(obj)


def is_known_cluster_scoped_kind(api_version_text: str, kind_name: str) -> bool:
    """kyaml's `IsNamespaceScoped` answer for a type: unknown types count as namespaced."""
    return _NAMESPACE_SCOPED.get((api_version_text, kind_name), True) is False


def file_path(obj: object) -> str:
    value = annotation(obj, PATH_ANNOTATION)
    return value or annotation(obj, LEGACY_PATH_ANNOTATION)


def file_index_text(obj: object) -> str:
    value = annotation(obj, INDEX_ANNOTATION)
    return value or annotation(obj, LEGACY_INDEX_ANNOTATION)


def file_index(obj: object) -> int:
    """The SDK's `IndexAnnotation`: -1 when absent."""
    text = annotation(obj, INDEX_ANNOTATION)
    if text == "":
        return -1
    try:
        return int(text)
    except ValueError:
        return 0


def short_string(obj: object) -> str:
    return (
        f"Resource(apiVersion={api_version(obj)}, kind={kind(obj)}, "
        f"namespace={namespace(obj)}, name={name(obj)})"
    )


# --------------------------------------------------------------------------- resource lists


def items(resource_list: CommentedMap) -> CommentedSeq:
    value = resource_list.get("items")
    if not isinstance(value, CommentedSeq):
        value = CommentedSeq(value or [])
        resource_list["items"] = value
    return value


def function_config(resource_list: CommentedMap) -> CommentedMap | None:
    value = resource_list.get("functionConfig")
    if isinstance(value, CommentedMap) and len(value) > 0:
        return value
    return None


def copy_resource_list(resource_list: CommentedMap) -> CommentedMap:
    """A deep copy: a builtin never changes its caller's nodes, so a failure leaves them as
    they were."""
    copied: CommentedMap = yamlutil.copy_node(resource_list)
    return copied


def sort_items(resource_list: CommentedMap) -> None:
    """The SDK sorts `items` by "<apiVersion> <kind> <namespace> <name>" before writing them."""
    seq = items(resource_list)
    ordered = sorted(seq, key=lambda o: f"{api_version(o)} {kind(o)} {namespace(o)} {name(o)}")
    seq[:] = ordered


def add_results(resource_list: CommentedMap, results: Iterable[CommentedMap]) -> None:
    new = list(results)
    if not new:
        return
    existing = resource_list.get("results")
    if not isinstance(existing, CommentedSeq):
        existing = CommentedSeq(existing or [])
        resource_list["results"] = existing
    existing.extend(new)


def result(
    message: str,
    severity: str | None = None,
    *,
    resource_ref: Mapping[str, str] | None = None,
    field: Mapping[str, str] | None = None,
    file: Mapping[str, object] | None = None,
) -> CommentedMap:
    """One result item with the key order kpt prints; `None` parts are left out."""
    item = CommentedMap()
    item["message"] = message
    if severity:
        item["severity"] = severity
    if resource_ref is not None:
        item["resourceRef"] = CommentedMap(resource_ref)
    if field is not None:
        item["field"] = CommentedMap(field)
    if file is not None:
        item["file"] = CommentedMap(file)
    return item


def resource_ref(obj: object) -> dict[str, str]:
    """A `resourceRef` with empty parts left out (`omitempty`)."""
    ref = {
        "apiVersion": api_version(obj),
        "kind": kind(obj),
        "name": name(obj),
        "namespace": namespace(obj),
    }
    return {k: v for k, v in ref.items() if v}


def config_object_result(message: str, obj: object | None, severity: str) -> CommentedMap:
    """The SDK's `ConfigObjectResult`: the message with the config object's ref and file."""
    if obj is None:
        return result(message, severity, resource_ref={}, file={"index": -1})
    file: dict[str, object] = {}
    path = annotation(obj, PATH_ANNOTATION)
    if path:
        file["path"] = path
    index = file_index(obj)
    if index != 0:
        file["index"] = index
    return result(message, severity, resource_ref=resource_ref(obj), file=file)


def go_type_name(value: object) -> str:
    """The JSON type word Go's encoding/json uses in "cannot unmarshal X into ..." errors."""
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return "string"
