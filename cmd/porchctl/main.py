"""porchctl: the command lives in pkg.cmd.porchctl; this is only its shim."""

from pkg.cmd.porchctl.main import main

raise SystemExit(main())
