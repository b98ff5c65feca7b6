"""Help texts of porchctl's commands: one short line, a description and examples each.

Where this sits: the command modules (``repo``, ``rpkg``..., and ``fn`` for its own texts) pass
these to click (``short_help``, ``help``, ``epilog``). Example blocks go through
:func:`examples`, which keeps click from re-wrapping them.
"""

from __future__ import annotations

from typing import Final


def examples(text: str) -> str:
    """An example block for a command's epilog, printed as written.

    click re-wraps every paragraph (text between blank lines) of a help text unless the
    paragraph starts with a line holding only ``\\b``, and re-wrapping joins an example's
    comment and command into one line; so every paragraph gets its own ``\\b`` line.
    """
    return "\n\n".join(f"\b\n{paragraph}" for paragraph in text.split("\n\n"))


ROOT: Final = """porchctl interacts with a Kubernetes API server with the Porch server installed as
an aggregated API server (or a standalone porch-server). It manages Porch repository
registrations and the packages within those repositories."""

VERSION: Final = "Print the version number of porchctl."

COMPLETION: Final = """Print the shell completion script for porchctl.

\b
Load it into the current shell:
  source <(porchctl completion bash)
  porchctl completion zsh > "${fpath[1]}/_porchctl"
  porchctl completion fish | source"""

HELP: Final = "Help about any command."

# -- repo ------------------------------------------------------------------------------

REPO: Final = "Manage package repositories."

REPO_REG_SHORT: Final = "Register a package repository."
REPO_REG: Final = """Register a git repository (or an oci:// registry) with Porch.

REPOSITORY is the repository URL. With --repo-basic-username/--repo-basic-password a
basic-auth Secret named <name>-auth is created first and referenced from the Repository."""
REPO_REG_EXAMPLES: Final = examples("""Examples:
  # Register the blueprints repository, using its last URL segment as the name
  porchctl repo reg https://github.com/example/blueprints.git -n default

  # Register a private deployment repository with basic authentication
  porchctl repo reg http://git.example.com/org/deployments.git \\
      --name=deployments --deployment \\
      --repo-basic-username=nephio --repo-basic-password=secret

  # Register a repository that Porch syncs every 10 minutes
  porchctl repo reg https://github.com/example/blueprints.git --sync-schedule='*/10 * * * *'""")

REPO_GET_SHORT: Final = "List registered repositories."
REPO_GET: Final = """List the registered repositories, or show the named one.

Prints the server's table (NAME, TYPE, CONTENT, SYNC SCHEDULE, DEPLOYMENT, READY,
ADDRESS, BRANCH, AGE) unless -o asks for another format."""
REPO_GET_EXAMPLES: Final = examples("""Examples:
  # List the repositories in the current namespace
  porchctl repo get

  # Show one repository as YAML
  porchctl repo get blueprints -o yaml

  # Repositories of every namespace, with their addresses only
  porchctl repo get -A -o custom-columns=NAME:.metadata.name,ADDRESS:.spec.git.repo""")

REPO_UNREG_SHORT: Final = "Unregister a repository."
REPO_UNREG: Final = """Unregister a repository and delete the Secret it references (unless
--keep-auth-secret). The git repository itself is not touched."""
REPO_UNREG_EXAMPLES: Final = examples("""Examples:
  # Unregister the blueprints repository and its auth Secret
  porchctl repo unreg blueprints -n default

  # Unregister but keep the credentials for a later registration
  porchctl repo unreg blueprints --keep-auth-secret""")

REPO_SYNC_SHORT: Final = "Schedule a one-time sync of repositories."
REPO_SYNC: Final = """Ask Porch to sync repositories once, soon: sets spec.sync.runOnceAt.

--run-once takes a duration from now (10m, 2h30m) or an RFC3339 time; the earliest (and
default) time is one minute from now."""
REPO_SYNC_EXAMPLES: Final = examples("""Examples:
  # Sync the blueprints repository in a minute
  porchctl repo sync blueprints -n default

  # Sync every repository of the namespace in 10 minutes
  porchctl repo sync --all --run-once 10m

  # Sync every repository of every namespace at a given time
  porchctl repo sync --all -A --run-once 2026-01-02T15:04:05Z""")

# -- rpkg ------------------------------------------------------------------------------

RPKG: Final = "Manage packages (package revisions) in registered repositories."

GET_SHORT: Final = "List package revisions in registered repositories."
GET: Final = """List package revisions, or show the named ones.

--name, --revision and --workspace filter the list (the first of them in the order
--name, --workspace, --revision is sent to the server as a field selector). Prints the
server's table (NAME, PACKAGE, WORKSPACENAME, REVISION, LATEST, LIFECYCLE, REPOSITORY)
unless -o asks for another format; jsonpath and custom-columns expressions address one
package revision at a time."""
GET_EXAMPLES: Final = examples("""Examples:
  # All package revisions in the current namespace
  porchctl rpkg get

  # The revisions of package basens
  porchctl rpkg get --name basens

  # The Kptfile of one revision
  porchctl rpkg get blueprints.basens.v1 --show-kptfile

  # Names only, one per line
  porchctl rpkg get -o jsonpath='{.metadata.name}{"\\n"}'""")

PULL_SHORT: Final = "Pull the contents of a package revision."
PULL: Final = """Pull the files of a package revision into a new local directory (DIR must not
exist), or print its KRM resources as a ResourceList when DIR is omitted.

A .KptRevisionMetadata file records the revision's metadata (with its resourceVersion)
so that a later push can detect concurrent changes."""
PULL_EXAMPLES: Final = examples("""Examples:
  # Pull a draft into ./basens-draft
  porchctl rpkg pull blueprints.basens.my-draft ./basens-draft

  # Print its resources as a ResourceList
  porchctl rpkg pull blueprints.basens.my-draft""")

PUSH_SHORT: Final = "Push local changes to a draft package revision."
PUSH: Final = """Replace the contents of a draft package revision with the files in DIR, or with
the ResourceList read from stdin when DIR is '-'. Porch renders the package (runs its
Kptfile pipeline) and reports the function results.

The .KptRevisionMetadata file written by pull must be present: its resourceVersion makes
the push fail if the revision changed since it was pulled."""
PUSH_EXAMPLES: Final = examples("""Examples:
  # Push an edited directory back
  porchctl rpkg push blueprints.basens.my-draft ./basens-draft

  # Round-trip through a pipeline on stdin/stdout
  porchctl rpkg pull blueprints.basens.my-draft | kpt fn eval - -i set-labels -- a=b | \\
      porchctl rpkg push blueprints.basens.my-draft -""")

CLONE_SHORT: Final = "Create a package revision by cloning an upstream package."
CLONE: Final = """Create a new package NAME in --repository by cloning SOURCE_PACKAGE, which is
a package revision name (blueprints.basens.v1), a git URL (REPO.git/DIR@REF, or a URL with
--directory and --ref), or an oci:// image."""
CLONE_EXAMPLES: Final = examples("""Examples:
  # Clone a published revision into the deployments repository
  porchctl rpkg clone blueprints.basens.v1 my-basens --repository=deployments

  # Clone straight from git
  porchctl rpkg clone https://github.com/example/blueprints.git/basens@basens/v1 \\
      my-basens --repository=deployments --workspace=v1

  # The same, with the directory and ref as flags
  porchctl rpkg clone https://github.com/example/blueprints.git my-basens \\
      --directory=basens --ref=basens/v1 --repository=deployments""")

INIT_SHORT: Final = "Initialize a new package."
INIT: Final = """Create a new, empty package (a Kptfile and a package-context) as a draft in
--repository."""
INIT_EXAMPLES: Final = examples("""Examples:
  # Create package my-app in the blueprints repository
  porchctl rpkg init my-app --repository=blueprints --workspace=v1 \\
      --description="My application" --keywords=app,demo --site=https://example.com/my-app""")

COPY_SHORT: Final = "Create a new revision of a package from a published one."
COPY: Final = """Create a new draft revision of the package of SOURCE_PACKAGE (which must be
published), starting from its contents, in workspace --workspace."""
COPY_EXAMPLES: Final = examples("""Examples:
  # Start revision v2 of basens from v1
  porchctl rpkg copy blueprints.basens.v1 --workspace=v2""")

PROPOSE_SHORT: Final = "Propose that package revisions be published."
PROPOSE: Final = """Move draft package revisions to Proposed. Revisions whose readiness gates
are not all met are refused."""
PROPOSE_EXAMPLES: Final = examples("""Examples:
  porchctl rpkg propose blueprints.basens.v2 blueprints.bucket.v2""")

APPROVE_SHORT: Final = "Approve proposals to publish package revisions."
APPROVE: Final = """Publish proposed package revisions (through the approval subresource). Porch
assigns each its revision number. Revisions whose readiness gates are not all met are
refused."""
APPROVE_EXAMPLES: Final = examples("""Examples:
  porchctl rpkg approve blueprints.basens.v2""")

REJECT_SHORT: Final = "Reject a proposal to publish or delete package revisions."
REJECT: Final = """Send proposed package revisions back to Draft, or deletion-proposed ones back
to Published."""
REJECT_EXAMPLES: Final = examples("""Examples:
  porchctl rpkg reject blueprints.basens.v2""")

DEL_SHORT: Final = "Delete package revisions."
DEL: Final = """Delete package revisions. Published revisions must be proposed for deletion
first (porchctl rpkg propose-delete)."""
DEL_EXAMPLES: Final = examples("""Examples:
  porchctl rpkg del blueprints.basens.v2""")

PROPOSE_DELETE_SHORT: Final = "Propose deletion of published package revisions."
PROPOSE_DELETE: Final = """Move published package revisions to DeletionProposed, after which they
can be deleted (or the proposal rejected)."""
PROPOSE_DELETE_EXAMPLES: Final = examples("""Examples:
  porchctl rpkg propose-delete blueprints.basens.v1""")

UPGRADE_SHORT: Final = "Upgrade a downstream package revision to a newer upstream revision."
UPGRADE: Final = """Create a new draft revision (workspace --workspace) of a published downstream
package that merges the changes between its current upstream revision and a newer one
(--revision, default the latest published), using --strategy.

With --discover=upstream, list the upstream updates available to downstream packages;
with --discover=downstream, list the downstream packages that an upstream revision could
update."""
UPGRADE_EXAMPLES: Final = examples("""Examples:
  # Upgrade to the latest upstream revision
  porchctl rpkg upgrade deployments.my-basens.v1 --workspace=v2

  # Upgrade to upstream revision 3, replacing local changes
  porchctl rpkg upgrade deployments.my-basens.v1 --workspace=v2 --revision=3 \\
      --strategy=force-delete-replace

  # Which packages have upstream updates?
  porchctl rpkg upgrade --discover=upstream""")
