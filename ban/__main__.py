from ban.cli import main

raise SystemExit(main())
