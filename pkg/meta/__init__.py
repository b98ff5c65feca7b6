"""Metadata git cannot hold (labels, annotations, finalizers, owners) per package revision.

`metatypes` holds the contract (`PackageRevisionMeta`, `MetadataStore`); `sqlite` the embedded
store, `memory` an in-process one. Only `pkg.cache` uses them.
"""
