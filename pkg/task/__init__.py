"""Task handlers of the CaD engine: how a package revision's files come about.

Pure functions over package files (`dict[str, str]`, path -> text) called by `pkg.engine`:
`init` (a new package, kpt's exact files), `clone` (from a registered revision or a git URL,
through `gitfetch`; `pkgcontext` for deployment repositories), `edit` (copy), `upgrade`
(`pkg.kpt.update` strategies), `kptfilesync` (PackageRevision spec -> Kptfile), `heal`
(comments kept across resource updates) and `render` (the kpt pipeline, off the event loop).
`taskerrors` holds the field error they raise; `tasktesting` helps tests compare packages
with porchctl's goldens.
"""
