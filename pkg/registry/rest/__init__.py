"""Generic REST machinery (k8s.io/apiserver's pkg/registry/rest).

``rest``: the per-verb capability protocols between the API server and storages;
``create``/``update``: the strategy protocols and the fixed-order drivers;
``strategy``: both protocols and drivers under one name; ``objectmeta``: metadata rules
every resource shares; ``tableconvertor``: Table output from column definitions;
``resttest``: the conformance check every storage runs in its tests.
"""
