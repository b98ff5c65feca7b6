"""porch-server: the command lives in pkg.cmd.server; this is only its shim."""

from pkg.cmd.server.main import main

raise SystemExit(main())
