from skogad._cli import main

raise SystemExit(main())
