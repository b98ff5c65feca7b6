"""The set-namespace catalog function, run in-process.

Where it sits: `BUILTINS["set-namespace"]`; the function runtime calls `run` with a KRM
`ResourceList` when a pipeline step or `fn eval` names the set-namespace image. Behaviour is the
catalog's v0.4 line as shipped by the 2026 images (reference §3): namespaced objects, Namespace
names, CRD conversion-webhook and APIService service namespaces (only where the service block
exists), ClusterRoleBinding/RoleBinding subjects, `namespaceMatcher` with upstream origins, and
the namespaces inside `config.kubernetes.io/depends-on` annotations.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ruamel.yaml.comments import CommentedMap

from pkg.kpt import yamlutil
from pkg.kpt.fn.builtins import _krm

_FN_GROUP = "fn.kpt.dev"
_FN_VERSION = "v1alpha1"
_FN_KIND = "SetNamespace"
# The ConfigMap that `kpt pkg init` / Porch write as package context.
_PACKAGE_CONTEXT_NAME = "kptfile.kpt.dev"
_DEPENDS_ON = "config.kubernetes.io/depends-on"
# <group>/namespaces/<namespace>/<kind>/<name>
_NAMESPACED_DEPENDS_ON = re.compile(r"\A([-.\w]*)/namespaces/([-.\w]*)/([-.\w]*)/([-.\w]*)\Z")
_NAMESPACE_SEGMENT = 2
# The SDK's (unanchored) upstream-identifier pattern: group|Kind|namespace|name.
_UPSTREAM_ID = re.compile(
    r"(?P<group>[a-z0-9-.]*)\|(?P<kind>[A-Z][a-zA-Z0-9]*)\|"
    r"(?P<namespace>[a-z0-9-]{1,63}|~C)\|(?P<name>[a-z0-9-]{1,63})"
)

# visitor(origin, current value, object description) -> new value
_Visitor = Callable[[str, str, str | None], str]


class _ConfigError(Exception):
    pass


def run(resource_list: CommentedMap) -> CommentedMap:
    """Set the namespace of the items; see the module docstring."""
    rl = _krm.copy_resource_list(resource_list)
    config = _krm.function_config(rl)
    try:
        new_namespace, matcher = _configure(config)
    except _ConfigError as err:
        _krm.fail(
            _krm.SDK_FAILURE_STDERR, [_krm.config_object_result(str(err), config, _krm.ERROR)]
        )
    objects = [o for o in _krm.items(rl) if not _krm.is_local_config(o)]
    results = _transform(objects, new_namespace, matcher)
    _krm.add_results(rl, results)
    _krm.sort_items(rl)
    return rl


def _configure(config: CommentedMap | None) -> tuple[str, str]:
    expected = f"`ConfigMap.v1` or `{_FN_KIND}.{_FN_VERSION}.{_FN_GROUP}`"
    if config is None:
        raise _ConfigError(f"FunctionConfig is missing. Expect {expected}")
    if _krm.is_gvk(config, "", "v1", "ConfigMap"):
        data = config.get("data") or {}
        if not isinstance(data, CommentedMap) or not all(
            v is None or isinstance(v, str) for v in data.values()
        ):
            raise _ConfigError("failed to parse FunctionConfig as ConfigMap")
        matcher = str(data.get("namespaceMatcher") or "")
        if data.get("namespace"):
            return str(data["namespace"]), matcher
        if data.get("name") and _krm.name(config) == _PACKAGE_CONTEXT_NAME:
            return str(data["name"]), matcher
        # The catalog means to say `data.name` for the package context, but compares the
        # name of its own (empty) object, so it always reports `data.namespace`.
        raise _ConfigError("`data.namespace` should not be empty")
    if _krm.is_gvk(config, _FN_GROUP, _FN_VERSION, _FN_KIND):
        namespace, _ = _krm.nested_string(config, "namespace")
        matcher, _ = _krm.nested_string(config, "namespaceMatcher")
        if not namespace:
            raise _ConfigError("`namespace` should not be empty")
        return namespace, matcher
    raise _ConfigError(
        f"unknown functionConfig Kind={_krm.kind(config)} "
        f"ApiVersion={_krm.api_version(config)}, expect {expected}"
    )


def _transform(objects: list[CommentedMap], new_ns: str, matcher: str) -> list[CommentedMap]:
    depends_on_before = {_depends_on_key(o) for o in objects}
    depends_on_before.discard(None)

    results: list[CommentedMap] = []
    old_values: set[str] = set()
    count = 0

    def visit(origin: str, current: str, description: str | None) -> str:
        nonlocal count
        if origin == _krm.UNKNOWN_NAMESPACE:
            return current
        if current == "":
            current = _krm.DEFAULT_NAMESPACE
        if current == new_ns:
            return current
        change = not matcher
        if matcher:
            if matcher == origin:
                ids = f"[{description}]" if description is not None else "[]"
                results.append(_krm.result(f"{ids} has matching origin {origin}", _krm.INFO))
            change = matcher in (current, origin)
        if change:
            old_values.add(current)
            count += 1
            return new_ns
        return current

    _visit_cluster_scoped(objects, visit)
    _visit_namespace_scoped(objects, visit)
    if count == 0:
        message = f"all matching namespaces are already {_krm.go_quote(new_ns)}. no value changed"
    else:
        message = (
            f"namespace {_krm.go_list(sorted(old_values))} updated to {_krm.go_quote(new_ns)}, "
            f"{count} value(s) changed"
        )
    results.append(_krm.result(message, _krm.INFO))
    results.append(_update_depends_on(objects, depends_on_before, new_ns, matcher))
    return results


def _origin(obj: CommentedMap) -> tuple[str, str] | None:
    """(namespace, name) of the object's origin; None when the upstream id is malformed."""
    upstream = _krm.annotation(obj, _krm.UPSTREAM_IDENTIFIER_ANNOTATION)
    if upstream:
        match = _UPSTREAM_ID.search(upstream.strip())
        if match is None:
            return None
        return match["namespace"], match["name"]
    return _effective_namespace(obj), _krm.name(obj)


def _effective_namespace(obj: CommentedMap) -> str:
    if _krm.has_namespace(obj):
        return _krm.namespace(obj)
    if _krm.is_namespace_scoped(obj):
        return _krm.DEFAULT_NAMESPACE
    return _krm.UNKNOWN_NAMESPACE


def _depends_on_key(obj: CommentedMap) -> str | None:
    namespace = _effective_namespace(obj)
    if namespace == _krm.UNKNOWN_NAMESPACE:
        return None
    group, _ = _krm.parse_group_version(_krm.api_version(obj))
    return f"{group}/namespaces/{namespace}/{_krm.kind(obj)}/{_krm.name(obj)}"


def _write_back(node: CommentedMap, key: str, value: str) -> None:
    # The catalog always sets the visited value again; only a real difference shows.
    if key not in node or _krm.field_text(node, key) != value:
        _krm.set_nested_string(node, value, key)


def _visit_service(obj: CommentedMap, visit: _Visitor, *path: str) -> None:
    service = _krm.get_map(obj, *path)
    if service is None:
        return
    current, _ = _krm.nested_string(service, "namespace")
    _write_back(service, "namespace", visit("", current, None))


def _visit_cluster_scoped(objects: list[CommentedMap], visit: _Visitor) -> None:
    for obj in objects:
        if _krm.is_namespace_scoped(obj):
            continue
        if _krm.is_gvk(obj, "", "v1", "Namespace"):
            origin = _origin(obj)
            new_name = visit(origin[1] if origin else "", _krm.name(obj), _krm.short_string(obj))
            _write_back(yamlutil.ensure_map(obj, "metadata"), "name", new_name)
        elif _krm.is_gvk(obj, "apiextensions.k8s.io", "v1", "CustomResourceDefinition"):
            _visit_service(obj, visit, "spec", "conversion", "webhook", "clientConfig", "service")
        elif _krm.is_gvk(obj, "apiregistration.k8s.io", "v1", "APIService"):
            _visit_service(obj, visit, "spec", "service")
        elif _krm.kind(obj) in {"ClusterRoleBinding", "RoleBinding"}:
            for subject in _krm.get_seq(obj, "subjects") or []:
                if not isinstance(subject, CommentedMap):
                    continue
                current, found = _krm.nested_string(subject, "namespace")
                if found:
                    _write_back(subject, "namespace", visit("", current, None))


def _visit_namespace_scoped(objects: list[CommentedMap], visit: _Visitor) -> None:
    for obj in objects:
        if not _krm.is_namespace_scoped(obj):
            continue
        origin = _origin(obj)
        origin_ns = origin[0] if origin else _krm.UNKNOWN_NAMESPACE
        new_value = visit(origin_ns, _krm.namespace(obj), _krm.short_string(obj))
        _write_back(yamlutil.ensure_map(obj, "metadata"), "namespace", new_value)


def _update_depends_on(
    objects: list[CommentedMap], known: set[str | None], new_ns: str, matcher: str
) -> CommentedMap:
    count = 0
    old_values: set[str] = set()
    for obj in objects:
        value = _krm.annotation(obj, _DEPENDS_ON)
        if not value or not _NAMESPACED_DEPENDS_ON.match(value) or value not in known:
            continue
        segments = value.split("/")
        old = segments[_NAMESPACE_SEGMENT]
        if old == new_ns or (matcher and matcher != old):
            continue
        old_values.add(old)
        segments[_NAMESPACE_SEGMENT] = new_ns
        count += 1
        _krm.set_nested_string(obj, "/".join(segments), "metadata", "annotations", _DEPENDS_ON)
    if count == 0:
        return _krm.result(
            "all `depends-on` annotations are up-to-date. no `namespace` changed", _krm.INFO
        )
    return _krm.result(
        f"`depends-on` annotation namespace {_krm.go_list(sorted(old_values))} updated to "
        f"{_krm.go_quote(new_ns)}, {count} value(s) changed",
        _krm.INFO,
    )
