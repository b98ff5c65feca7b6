"""Package contents the benchmark writes through the API.

Where it sits: the render workload (:mod:`test.bench.workloads`) pushes
:func:`render_package` as a draft's resources and then changes one resource per
iteration (:func:`bump_replicas`), so every update runs the Kptfile pipeline: three builtin
mutators (set-namespace, set-labels, set-annotations) over 18 resources, as a typical
blueprint of a few applications looks.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["APPS", "FUNCTION_PREFIX", "bump_replicas", "render_package"]

APPS: Final = 6
FUNCTION_PREFIX: Final = "ghcr.io/kptdev/krm-functions-catalog/"
NAMESPACE: Final = "bench-render"
PART_OF: Final = "porch-bench"
_REPLICAS: Final = re.compile(r"^(  replicas: )(\d+)$", re.MULTILINE)


def _kptfile(name: str) -> str:
    return f"""apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: {name}
  annotations:
    config.kubernetes.io/local-config: "true"
info:
  description: {name} description
pipeline:
  mutators:
  - image: {FUNCTION_PREFIX}set-namespace:v0.4.1
    configMap:
      namespace: {NAMESPACE}
  - image: {FUNCTION_PREFIX}set-labels:v0.2.0
    configMap:
      app.kubernetes.io/part-of: {PART_OF}
  - image: {FUNCTION_PREFIX}set-annotations:v0.1.4
    configMap:
      bench.porch.kpt.dev/rendered: "true"
"""


def _deployment(app: str) -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {app}
  labels:
    app: {app}
spec:
  replicas: 1
  selector:
    matchLabels:
      app: {app}
  template:
    metadata:
      labels:
        app: {app}
    spec:
      containers:
      - name: {app}
        image: registry.example.com/{app}:1.0.0
        ports:
        - containerPort: 8080
        envFrom:
        - configMapRef:
            name: {app}-config
"""


def _service(app: str) -> str:
    return f"""apiVersion: v1
kind: Service
metadata:
  name: {app}
spec:
  selector:
    app: {app}
  ports:
  - port: 80
    targetPort: 8080
"""


def _configmap(app: str) -> str:
    return f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: {app}-config
data:
  LOG_LEVEL: info
  FEATURE_FLAGS: "a,b,c"
"""


def render_package(name: str) -> dict[str, str]:
    """20 files: a Kptfile with three mutators, a README and 6 x (Deployment, Service,
    ConfigMap)."""
    files = {"Kptfile": _kptfile(name), "README.md": f"# {name}\n\nRender benchmark.\n"}
    for index in range(APPS):
        app = f"app-{index}"
        files[f"{app}/deployment.yaml"] = _deployment(app)
        files[f"{app}/service.yaml"] = _service(app)
        files[f"{app}/configmap.yaml"] = _configmap(app)
    return files


def bump_replicas(files: dict[str, str], iteration: int) -> dict[str, str]:
    """`files` with one Deployment's replicas set from `iteration` (a real change each
    time, so every update renders and commits)."""
    path = f"app-{iteration % APPS}/deployment.yaml"
    changed, count = _REPLICAS.subn(rf"\g<1>{iteration + 2}", files[path])
    if count != 1:
        raise ValueError(f"{path} has no single top-level replicas field")
    return {**files, path: changed}
