"""The set-labels catalog function (v0.2 line), run in-process.

Where it sits: `BUILTINS["set-labels"]`, called by the function runtime with a KRM
`ResourceList`. It sets labels on `metadata.labels` of every non-local-config object and on the
selector and template fields kubernetes kinds carry (reference §4): Service/RC `spec.selector`,
workload `spec.selector.matchLabels` and pod templates, CronJob job templates, StatefulSet volume
claim templates and NetworkPolicy pod selectors. Config handling follows the SDK's runner
(`fn.WithContext`): a ConfigMap's `data` or a `SetLabels` object's `labels`.
"""

from __future__ import annotations

from collections.abc import Mapping

from ruamel.yaml.comments import CommentedMap

from pkg.kpt.fn.builtins import _krm

_FN_KIND = "SetLabels"
_FN_GROUP = "fn.kpt.dev"


class _Labeler:
    """Applies one label set and counts every (target path, key) it visits, like the catalog."""

    def __init__(self, labels: Mapping[str, str]) -> None:
        self.keys = sorted(labels)
        self.labels = labels
        self.count = 0

    def update(self, node: object, path: tuple[str, ...], *, create: bool) -> None:
        if not isinstance(node, CommentedMap):
            return
        for key in self.keys:
            value = self.labels[key]
            full = (*path, key)
            old, exists = _krm.nested_string(node, *full)
            if (exists and old != value) or (not exists and create):
                _krm.set_nested_string(node, value, *full)
            self.count += 1

    def meta(self, node: object) -> None:
        self.update(node, ("metadata", "labels"), create=True)

    def pod_template(self, pod: object) -> None:
        if not isinstance(pod, CommentedMap):
            return
        self.meta(pod)
        spec = pod.get("spec")
        if not isinstance(spec, CommentedMap):
            return
        for constraint in _krm.get_seq(spec, "topologySpreadConstraints") or []:
            self.update(constraint, ("labelSelector", "matchLabels"), create=False)
        affinity = spec.get("affinity")
        if isinstance(affinity, CommentedMap):
            # The catalog looks for the affinity terms directly under `affinity` (not under
            # podAffinity / podAntiAffinity), so in practice this never matches; kept as is.
            for name in ("podAffinity", "podAntiAffinity"):
                if isinstance(affinity.get(name), CommentedMap):
                    preferred = _krm.get_seq(
                        affinity, "preferredDuringSchedulingIgnoredDuringExecution"
                    )
                    for term in preferred or []:
                        self.update(
                            _krm.get_map(term, "podAffinityTerm"),
                            ("labelSelector", "matchLabels"),
                            create=False,
                        )
                    required = _krm.get_seq(
                        affinity, "requiredDuringSchedulingIgnoredDuringExecution"
                    )
                    for term in required or []:
                        self.update(term, ("labelSelector", "matchLabels"), create=False)

    def job_template(self, job: object) -> None:
        if not isinstance(job, CommentedMap):
            return
        self.meta(job)
        spec = job.get("spec")
        if not isinstance(spec, CommentedMap):
            return
        self.update(spec, ("selector", "matchLabels"), create=False)
        self.pod_template(spec.get("template"))

    def object(self, obj: CommentedMap) -> None:
        self.meta(obj)
        if _krm.is_gvk(obj, "", "v1", "Service") or _krm.is_gvk(
            obj, "", "v1", "ReplicationController"
        ):
            self.update(obj, ("spec", "selector"), create=True)
        if any(_krm.is_gvk(obj, "", "", k) for k in ("Deployment", "ReplicaSet", "DaemonSet")) or (
            _krm.is_gvk(obj, "apps", "", "StatefulSet")
        ):
            self.update(obj, ("spec", "selector", "matchLabels"), create=True)
        elif _krm.is_gvk(obj, "batch", "", "Job") or _krm.is_gvk(
            obj, "policy", "", "PodDisruptionBudget"
        ):
            self.update(obj, ("spec", "selector", "matchLabels"), create=False)
        network_policy = _krm.is_gvk(obj, "networking.k8s.io", "", "NetworkPolicy")
        if network_policy:
            self.update(obj, ("spec", "podSelector", "matchLabels"), create=False)
        spec = obj.get("spec")
        if not isinstance(spec, CommentedMap):
            return
        if _has_pod_template(obj):
            self.pod_template(spec.get("template"))
        if _krm.is_gvk(obj, "batch", "", "CronJob"):
            self.job_template(spec.get("jobTemplate"))
        if _krm.is_gvk(obj, "apps", "", "StatefulSet"):
            for volume in _krm.get_seq(spec, "volumeClaimTemplates") or []:
                if isinstance(volume, CommentedMap):
                    self.meta(volume)
                    self.update(volume, ("selector", "matchLabels"), create=False)
        if network_policy:
            for rule_key, peer_key in (("ingress", "from"), ("egress", "to")):
                for rule in _krm.get_seq(spec, rule_key) or []:
                    for peer in _krm.get_seq(rule, peer_key) or []:
                        self.update(peer, ("podSelector", "matchLabels"), create=False)


def _has_pod_template(obj: CommentedMap) -> bool:
    return (
        _krm.is_gvk(obj, "", "v1", "ReplicationController")
        or any(_krm.is_gvk(obj, "", "", k) for k in ("Deployment", "ReplicaSet", "DaemonSet"))
        or _krm.is_gvk(obj, "apps", "", "StatefulSet")
        or _krm.is_gvk(obj, "batch", "", "Job")
    )


def _is_placeholder_config(config: CommentedMap | None) -> bool:
    """The catalog's `EmptyfnConfig`: kpt's placeholder configs mean "no config given"."""
    if config is None:
        return True
    if _krm.kind(config) == "ConfigMap" and _krm.name(config) == "function-input":
        data = config.get("data")
        return not data
    return _krm.kind(config) == "" and _krm.name(config) == ""


def _configure(config: CommentedMap) -> dict[str, str]:
    """The SDK runner's config step; raises ValueError with the SDK's message."""
    group, _ = _krm.parse_group_version(_krm.api_version(config))
    kind = _krm.kind(config)
    if group == "" and kind == "ConfigMap":
        data = config.get("data")
        if data is None:
            return {}
        if not isinstance(data, Mapping):
            raise ValueError(
                f"unable to convert object to map[string]string with error: json: cannot "
                f"unmarshal {_krm.go_type_name(data)} into Go value of type map[string]string"
            )
        return _krm.string_map(data)
    if group == _FN_GROUP and kind == _FN_KIND:
        labels = config.get("labels")
        if labels is None:
            return {}
        if not isinstance(labels, Mapping):
            raise ValueError(
                "unable to convert object to *setlabels.SetLabels with error: json: cannot "
                f"unmarshal {_krm.go_type_name(labels)} into Go struct field SetLabels.labels "
                "of type map[string]string"
            )
        out: dict[str, str] = {}
        for key, value in labels.items():
            if not isinstance(value, str):
                raise ValueError(
                    "unable to convert object to *setlabels.SetLabels with error: json: cannot "
                    f"unmarshal {_krm.go_type_name(value)} into Go struct field "
                    "SetLabels.labels of type string"
                )
            out[str(key)] = value
        return out
    group_kind = f"{kind}.{group}" if group else kind
    raise ValueError(
        f"unknown FunctionConfig `{group_kind}`, expect `{_FN_KIND}.{_FN_GROUP}` or `ConfigMap.v1`"
    )


def run(resource_list: CommentedMap) -> CommentedMap:
    """Set the configured labels; see the module docstring."""
    rl = _krm.copy_resource_list(resource_list)
    config = _krm.function_config(rl)
    results: list[CommentedMap] = []
    labels: dict[str, str] = {}
    if config is None or _is_sdk_empty_config(config):
        results.append(_krm.result("`FunctionConfig` is not given", _krm.INFO))
    else:
        try:
            labels = _configure(config)
        except ValueError as err:
            _krm.fail(_krm.SDK_FAILURE_STDERR, [_krm.result(str(err), _krm.ERROR)])

    objects = [o for o in _krm.items(rl) if not _krm.is_local_config(o)]
    if not objects:
        results.append(_krm.result("no input resources", _krm.INFO))
        return _finish(rl, results)
    if _is_placeholder_config(config):
        # The catalog returns "failed" without an error result of its own.
        _krm.fail(_krm.SDK_FAILURE_STDERR, results)
    if not labels:
        results.append(
            _krm.result("no `labels` arguments are given in FunctionConfig", _krm.WARNING)
        )
        return _finish(rl, results)
    labeler = _Labeler(labels)
    for obj in objects:
        labeler.object(obj)
    results.append(_krm.result(f"set {labeler.count} labels in total", _krm.INFO))
    return _finish(rl, results)


def _is_sdk_empty_config(config: CommentedMap) -> bool:
    """The SDK's `EmptyFunctionConfig`: ConfigMap `function-input` with an empty `data` map."""
    data = config.get("data")
    return (
        isinstance(data, Mapping)
        and len(data) == 0
        and _krm.kind(config) == "ConfigMap"
        and _krm.name(config) == "function-input"
    )


def _finish(rl: CommentedMap, results: list[CommentedMap]) -> CommentedMap:
    _krm.add_results(rl, results)
    _krm.sort_items(rl)
    return rl
