from trayauth.cli import main

raise SystemExit(main())
